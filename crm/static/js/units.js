// Property form: show what a figure in 亩 or per day is in the stored unit (㎡, 亩, per month).
// The server converts on its own; this only previews the conversion while typing.
(function () {
  "use strict";
  var SQM_PER_MU = 10000 / 15;
  var form = document.querySelector(".property-form");
  if (!form) { return; }

  function format(value) {
    return (Math.round(value * 100) / 100).toLocaleString("zh-CN");
  }

  // Each converter answers the figure in the stored unit, or null when no conversion is needed.
  var convert = {
    area: function (n, unit) { return unit === "mu" ? n * SQM_PER_MU : null; },
    land: function (n, unit) { return unit === "sqm" ? n / SQM_PER_MU : null; },
    rent: function (n, unit) { return unit === "day" ? n * 365 / 12 : null; }
  };

  function update(name) {
    var input = form.querySelector('[data-unit-value="' + name + '"]');
    var select = form.querySelector('[data-unit-select="' + name + '"]');
    var hint = form.querySelector('[data-unit-hint="' + name + '"]');
    if (!input || !select || !hint) { return; }
    if (!("help" in hint.dataset)) { hint.dataset.help = hint.textContent; }
    var n = parseFloat(input.value);
    var stored = isFinite(n) ? convert[name](n, select.value) : null;
    hint.textContent = stored === null ? hint.dataset.help : "= " + format(stored) + " " + hint.dataset.unitTarget;
  }

  Object.keys(convert).forEach(function (name) {
    update(name);
    form.addEventListener("input", function (event) {
      if (event.target.matches('[data-unit-value="' + name + '"], [data-unit-select="' + name + '"]')) { update(name); }
    });
    form.addEventListener("change", function (event) {
      if (event.target.matches('[data-unit-select="' + name + '"]')) { update(name); }
    });
  });
})();
