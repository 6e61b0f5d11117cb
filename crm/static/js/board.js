// Pipeline board: drag a card to another column to change its stage.
// Without JavaScript every card has a stage select and a Move button; this only adds dragging.
(function () {
  "use strict";
  var board = document.querySelector("[data-board]");
  if (!board) { return; }
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var dragged = null;

  board.addEventListener("dragstart", function (event) {
    var card = event.target.closest(".board-card");
    if (!card) { return; }
    dragged = card;
    card.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.leadId);
  });
  board.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("dragging"); }
    board.querySelectorAll(".drop-target").forEach(function (el) { el.classList.remove("drop-target"); });
  });
  board.addEventListener("dragover", function (event) {
    var zone = event.target.closest("[data-dropzone]");
    if (zone && dragged) {
      event.preventDefault();
      zone.classList.add("drop-target");
    }
  });
  board.addEventListener("dragleave", function (event) {
    var zone = event.target.closest("[data-dropzone]");
    if (zone && !zone.contains(event.relatedTarget)) { zone.classList.remove("drop-target"); }
  });
  board.addEventListener("drop", function (event) {
    var zone = event.target.closest("[data-dropzone]");
    if (!zone || !dragged) { return; }
    event.preventDefault();
    var stage = zone.dataset.dropzone;
    var card = dragged;
    if (card.closest("[data-dropzone]") === zone) { return; }
    if (stage === "lost" || stage === "won") {
      // Lost needs a reason and won the property signed: ask on the stage page.
      window.location.href = card.dataset.stageUrl + "?to=" + stage;
      return;
    }
    moveCard(card, zone, stage);
  });

  function moveCard(card, zone, stage) {
    var body = new URLSearchParams({ csrf_token: csrf, stage: stage, version: card.dataset.version });
    fetch(card.dataset.stageUrl, {
      method: "POST",
      headers: { "Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded" },
      body: body,
      credentials: "same-origin"
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (result) {
      if (!result.ok) {
        window.alert(result.data.error ? result.data.error.message : "Error");
        window.location.reload();
        return;
      }
      window.location.reload();
    }).catch(function () { window.location.reload(); });
  }
})();
