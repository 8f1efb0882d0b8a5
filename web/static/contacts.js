// The contacts page: tick all on the page, show only the input the chosen bulk action needs, confirm a delete.
(function () {
  "use strict";
  var form = document.getElementById("bulk-form");
  if (!form) { return; }
  var tickAll = document.getElementById("tick-all");
  var boxes = form.querySelectorAll('input[name="contact_id"]');
  var action = document.getElementById("bulk-action");

  if (tickAll) {
    tickAll.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = tickAll.checked; });
    });
  }

  var showInputs = function () {
    form.querySelectorAll("[data-for]").forEach(function (input) {
      var wanted = input.getAttribute("data-for").split(" ").indexOf(action.value) >= 0;
      input.hidden = !wanted;
      input.disabled = !wanted;
    });
  };
  if (action) {
    action.addEventListener("change", showInputs);
    showInputs();
  }

  form.addEventListener("submit", function (event) {
    var button = form.querySelector("[data-confirm-delete]");
    if (action && action.value === "delete" && button && !window.confirm(button.getAttribute("data-confirm-delete"))) {
      event.preventDefault();
    }
  });
})();
