// Lead import: small progressive enhancements; the pages work without this file.
(function () {
  "use strict";

  // Upload: refuse a file over the size limit before sending it.
  var input = document.querySelector(".import-upload input[type=file]");
  var upload = input && input.form;
  if (input && upload && upload.dataset.maxBytes) {
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      var tooLarge = file && file.size > Number(upload.dataset.maxBytes);
      input.setCustomValidity(tooLarge ? upload.dataset.tooLarge : "");
      if (tooLarge) {
        input.reportValidity();
      }
    });
  }

  // Preview: importing takes a while; say so and stop a second click.
  document.querySelectorAll("form[data-busy-text]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (event.defaultPrevented) {
        return;
      }
      // After the submit has collected the clicked button's name and value.
      window.setTimeout(function () {
        form.querySelectorAll("button[type=submit]").forEach(function (button) {
          button.disabled = true;
        });
        var note = document.createElement("p");
        note.className = "text-muted small mt-2";
        note.setAttribute("role", "status");
        note.textContent = form.dataset.busyText;
        form.appendChild(note);
      }, 0);
    });
  });

  // Progress page: ask for the next chunk of a long import without a click.
  var next = document.querySelector("form[data-auto-submit]");
  if (next) {
    window.setTimeout(function () {
      next.submit();
    }, 300);
  }
})();
