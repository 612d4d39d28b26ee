// The job page follows its job's progress (served as a file: the Content-Security-Policy allows no inline script).
(function () {
  var box = document.getElementById("job");
  function refresh() {
    fetch(box.dataset.url, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (job) {
      document.getElementById("job-status").textContent = job.status_label;
      document.getElementById("job-progress").value = job.progress;
      document.getElementById("job-percent").textContent = job.progress + "%";
      document.getElementById("job-message").textContent = job.message;
      document.getElementById("job-attempts").textContent = job.attempts + " / " + job.max_attempts;
      document.getElementById("job-error").textContent = job.error || "";
      var result = document.getElementById("job-result");
      if (job.result && job.result.url) {
        result.innerHTML = "";
        var link = document.createElement("a");
        link.href = job.result.url; link.textContent = "下载";
        result.appendChild(link);
      } else if (job.result) { result.textContent = JSON.stringify(job.result); }
      if (job.status !== "succeeded" && job.status !== "failed") { setTimeout(refresh, 1000); }
    });
  }
  setTimeout(refresh, 500);
})();
