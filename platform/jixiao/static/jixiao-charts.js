// The dashboards' charts, drawn from JSON data: every <div class="chart" data-chart-options-id="…"> takes its ECharts
// option from the <script type="application/json" id="…"> it names. JSON data is not executed, so the
// Content-Security-Policy (scripts from the site only, none inline) holds; ECharts itself is vendored under
// static/vendor/echarts. Each chart gets a "下载图片" button (a PNG of what is drawn); its table follows it.
(function () {
  "use strict";

  function fileName(title) {
    return (title || "图表").replace(/[\\/:*?"<>|\s]+/g, "_") + ".png";
  }

  function downloadButton(chart, element) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "chart-download";
    button.textContent = "下载图片";
    button.addEventListener("click", function () {
      var link = document.createElement("a");
      link.href = chart.getDataURL({ type: "png", pixelRatio: 2, backgroundColor: "#fff" });
      link.download = fileName(element.getAttribute("data-chart-title"));
      document.body.appendChild(link);
      link.click();
      link.remove();
    });
    element.parentNode.insertBefore(button, element.nextSibling);
  }

  function draw(element) {
    var source = document.getElementById(element.getAttribute("data-chart-options-id"));
    if (!source) { return null; }
    var chart = window.echarts.init(element, null, { renderer: "canvas" });
    chart.setOption(JSON.parse(source.textContent));
    element.setAttribute("data-chart-ready", "true");
    downloadButton(chart, element);
    return chart;
  }

  function start() {
    if (!window.echarts) { return; }  // the tables below each chart say the same
    var charts = [];
    var elements = document.querySelectorAll(".chart[data-chart-options-id]");
    for (var i = 0; i < elements.length; i++) {
      var chart = draw(elements[i]);
      if (chart) { charts.push(chart); }
    }
    var pending = null;
    window.addEventListener("resize", function () {
      window.clearTimeout(pending);
      pending = window.setTimeout(function () {
        for (var j = 0; j < charts.length; j++) { charts[j].resize(); }
      }, 150);
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
