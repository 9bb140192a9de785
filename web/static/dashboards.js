// Draws each chart of the dashboards page from its JSON block (<script type="application/json">,
// never run) with the vendored Chart.js: no inline script, so the strict Content-Security-Policy
// holds. Values arrive as the metric answers them; only their display is formatted here.
(function () {
  "use strict";

  var formats = {
    percent: function (v) { return (v * 100).toFixed(v * 100 % 1 === 0 ? 0 : 1) + "%"; },
    money: function (v) { return Number(v).toLocaleString("en", { maximumFractionDigits: 2 }); },
    number: function (v) { return Number(v).toLocaleString("en", { maximumFractionDigits: 2 }); }
  };

  function axis(spec, position, stacked) {
    var unit = spec.unit || "number";
    return {
      position: position,
      beginAtZero: true,
      stacked: stacked,
      title: { display: true, text: spec.title },
      grid: { drawOnChartArea: position === "left" },
      ticks: { callback: function (value) { return formats[unit](value); } }
    };
  }

  function config(spec) {
    var scales = { x: { stacked: spec.stacked, ticks: { autoSkip: true, maxRotation: 45 } } };
    scales.y = axis(spec.axes.y, "left", spec.stacked);
    if (spec.axes.y2) scales.y2 = axis(spec.axes.y2, "right", false);
    var datasets = spec.datasets.map(function (d) {
      return {
        label: d.label,
        data: d.data,
        type: d.type || spec.type,
        yAxisID: d.axis,
        backgroundColor: d.color,
        borderColor: d.color,
        borderWidth: d.type === "line" || spec.type === "line" ? 2 : 0,
        pointRadius: 3,
        spanGaps: true,
        order: d.type === "line" ? 0 : 1
      };
    });
    return {
      type: spec.type,
      data: { labels: spec.labels, datasets: datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: scales,
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12 } },
          tooltip: {
            callbacks: {
              label: function (item) {
                var unit = spec.axes[item.dataset.yAxisID].unit || "number";
                var v = item.raw;
                return item.dataset.label + ": " + (v === null || v === undefined ? "–" : formats[unit](v));
              }
            }
          }
        }
      }
    };
  }

  function draw() {
    if (!window.Chart) return;
    document.querySelectorAll("canvas[data-source]").forEach(function (canvas) {
      var source = document.getElementById(canvas.dataset.source);
      if (!source) return;
      var spec = JSON.parse(source.textContent);
      new window.Chart(canvas, config(spec));
      canvas.closest("figure").dataset.drawn = "true";
    });
    document.body.dataset.chartsDrawn = "true";
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
