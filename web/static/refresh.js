// Live regions: every data-refresh-every seconds, htmx asks the server to refresh the region
// marked with it (answered 204, and nothing swapped, unless an event changed it), except while
// someone is using one of its forms, so a chosen option or a half-typed text is never swapped
// away. A form the server refused (4xx) changed nothing: the forms matching the region's
// data-reset-refused selector go back to what they showed, and the refresh resumes.
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
  function every(region) {
    return (region ? Number(region.dataset.refreshEvery) : 0) || 5;
  }
  function tick() {
    var region = document.querySelector("[data-refresh-every]");
    if (region && !document.hidden && window.htmx && !busy(region)) window.htmx.trigger(region, "refresh");
    window.setTimeout(tick, every(region) * 1000);
  }
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.detail.elt;
    var region = document.querySelector("[data-refresh-every]");
    var refused = region && region.dataset.resetRefused;
    if (refused && event.detail.xhr && event.detail.xhr.status >= 400 && form.matches && form.matches(refused)) form.reset();
  });
  document.addEventListener("DOMContentLoaded", function () {
    var region = document.querySelector("[data-refresh-every]");
    if (region) window.setTimeout(tick, every(region) * 1000);
  });
})();
