// Import pages: show the custom-field name box when a column goes to a new custom field, and follow a
// running import's progress until its result can be shown. Herald's own code.
(function () {
  "use strict";

  document.querySelectorAll("select.column-target").forEach(function (select) {
    var name = select.parentNode.querySelector(".column-custom");
    var sync = function () { name.hidden = select.value !== "custom"; };
    select.addEventListener("change", sync);
    sync();
  });

  var box = document.getElementById("import-progress");
  if (!box || box.getAttribute("data-status") !== "running") { return; }
  var numberFormat = new Intl.NumberFormat(document.documentElement.lang || undefined);
  var poll = function () {
    fetch(box.getAttribute("data-status-url"), { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (state) {
        if (state.status !== "running") { window.location.assign(box.getAttribute("data-result-url")); return; }
        var percent = Math.round((state.progress || 0) * 1000) / 10;
        box.querySelector('[data-import="bar"]').style.width = percent + "%";
        box.querySelector('[data-import="percent"]').textContent = Math.round(percent);
        Object.keys(state.counts || {}).forEach(function (key) {
          var cell = box.querySelector('[data-import="' + key + '"]');
          if (cell) { cell.textContent = numberFormat.format(state.counts[key]); }
        });
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  };
  window.setTimeout(poll, 500);
})();
