// Keeps the case queue current. The time left counts down here, from each deadline
// (data-due), as the server words it ("3h 20m left", "overdue by 1h 5m"); every few seconds
// htmx asks the server whether any case changed (204 while none did), except while someone
// is using one of the queue's forms, so a half-typed resolution is never swapped away.
(function () {
  "use strict";
  function span(seconds) {
    var minutes = Math.floor(seconds / 60);
    var days = Math.floor(minutes / 1440), hours = Math.floor((minutes % 1440) / 60), rest = minutes % 60;
    if (days) return days + "d " + hours + "h";
    if (hours) return hours + "h " + rest + "m";
    return rest + "m";
  }
  function countDown() {
    document.querySelectorAll(".time-left[data-due]").forEach(function (node) {
      var seconds = (Date.parse(node.dataset.due) - Date.now()) / 1000;
      node.textContent = seconds < 0 ? "overdue by " + span(-seconds) : span(seconds) + " left";
      if (seconds < 0) node.classList.add("late");
    });
  }
  window.setInterval(countDown, 30000);
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
    var seconds = region ? Number(region.dataset.refreshEvery) || 5 : 5;
    window.setTimeout(tick, seconds * 1000);
  }
  // A refused action changed nothing: its form goes back to what it showed, so that
  // the queue is not left looking busy and the refresh resumes.
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    if (event.detail.xhr && event.detail.xhr.status >= 400 && form.matches && form.matches(".case-actions form")) form.reset();
  });
  document.addEventListener("DOMContentLoaded", function () {
    var region = document.querySelector("[data-refresh-every]");
    if (region) window.setTimeout(tick, (Number(region.dataset.refreshEvery) || 5) * 1000);
  });
})();
