// The time left on the case queue counts down here, from each deadline (data-due), as the
// server words it ("3h 20m left", "overdue by 1h 5m"); refresh.js keeps the queue current.
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
})();
