// The job page follows its job's progress (served as a file: the Content-Security-Policy allows no inline script).
// When the job ends it says what was done as the page itself does once finished (jobs/job.html): the kind's
// summary, the plain fields of a kind without words of its own, and the link to the record; never the raw result.
(function () {
  var box = document.getElementById("job");
  function show(id, words) { document.getElementById(id).textContent = words; }
  function outcome(job) {
    var result = document.getElementById("job-result");
    result.textContent = job.summary || "";
    var fields = job.result_fields || [];
    if (fields.length) {
      var table = document.createElement("table"), body = document.createElement("tbody");
      table.className = "job-result";
      fields.forEach(function (field) {
        var row = document.createElement("tr"), name = document.createElement("th"), value = document.createElement("td");
        name.textContent = field.name; value.textContent = field.value;
        row.appendChild(name); row.appendChild(value); body.appendChild(row);
      });
      table.appendChild(body); result.appendChild(table);
    }
    // Only the platform's own pages and downloads, or a plain web address: never a script's URL.
    if (job.result_link && /^(\/(?!\/)|https?:\/\/)/.test(job.result_link)) {
      var link = document.createElement("a");
      link.href = job.result_link; link.textContent = job.result_link_label;
      result.appendChild(document.createTextNode(" "));
      result.appendChild(link);
    }
  }
  function refresh() {
    fetch(box.dataset.url, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (job) {
      show("job-status", job.status_label);
      document.getElementById("job-progress").value = job.progress;
      show("job-percent", job.progress + "%");
      show("job-message", job.message);
      show("job-attempts", job.attempts + " / " + job.max_attempts);
      show("job-error", job.error || "");
      outcome(job);
      if (job.status !== "succeeded" && job.status !== "failed") { setTimeout(refresh, 1000); }
    });
  }
  setTimeout(refresh, 500);
})();
