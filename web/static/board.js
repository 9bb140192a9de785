// Live: every few seconds the board asks htmx to refresh it (answered 204, and nothing
// swapped, unless an event changed it), except while someone is using one of its forms,
// so a chosen stage or a half-typed reason is never swapped away.
(function () {
  "use strict";
  function busy(region) {
    var active = document.activeElement;
    if (active && region.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName)) return true;
    var typed = Array.prototype.some.call(region.querySelectorAll("input:not([type=hidden]), textarea"), function (input) {
      return input.value !== input.defaultValue;
    });
    var chosen = Array.prototype.some.call(region.querySelectorAll("select"), function (select) {
      var marked = Array.prototype.some.call(select.options, function (o) { return o.defaultSelected; });
      var option = select.options[select.selectedIndex];
      return marked ? Boolean(option && !option.defaultSelected) : select.selectedIndex > 0;
    });
    return typed || chosen;
  }
  function tick() {
    var region = document.querySelector("[data-refresh-every]");
    if (region && !document.hidden && window.htmx && !busy(region)) window.htmx.trigger(region, "refresh");
    var seconds = region ? Number(region.dataset.refreshEvery) || 2 : 15;
    window.setTimeout(tick, seconds * 1000);
  }
  // A refused action changed nothing: its form goes back to what it showed, so that
  // the card shows its deal's stage again and the refresh resumes.
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (event.detail.xhr && event.detail.xhr.status >= 400 && form.matches && form.matches("form.move")) form.reset();
  });
  document.addEventListener("DOMContentLoaded", function () {
    var region = document.querySelector("[data-refresh-every]");
    if (region) window.setTimeout(tick, (Number(region.dataset.refreshEvery) || 2) * 1000);
  });
})();

// Drag and drop on the deals board, an extra over the per-card form (which stays the way to
// move a deal with a keyboard): dropping a card on a column chooses that column's stage in
// the card's own form and submits it, so both paths issue the same command.
(function () {
  "use strict";
  var dragged = null;

  function columnOf(node) {
    return node && node.closest ? node.closest(".column[data-stage]") : null;
  }

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".deal-card[draggable=true]");
    if (!card) return;
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.deal);
    card.classList.add("dragging");
  });

  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    document.querySelectorAll(".column.drop-target").forEach(function (c) { c.classList.remove("drop-target"); });
  });

  document.addEventListener("dragover", function (event) {
    var column = columnOf(event.target);
    if (!dragged || !column) return;
    event.preventDefault();
    column.classList.add("drop-target");
  });

  document.addEventListener("dragleave", function (event) {
    var column = columnOf(event.target);
    if (column && !column.contains(event.relatedTarget)) column.classList.remove("drop-target");
  });

  document.addEventListener("drop", function (event) {
    var column = columnOf(event.target);
    if (!dragged || !column) return;
    event.preventDefault();
    var stage = column.dataset.stage;
    var form = dragged.querySelector("form.move");
    if (!form || stage === dragged.dataset.stage) return;
    form.querySelector("select[name=stage]").value = stage;
    form.requestSubmit();
  });
})();
