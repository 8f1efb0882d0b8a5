// The campaign form's "When" part (templates/campaigns/_schedule.html): show only the chosen kind's fields.
// Without JavaScript every field shows and the server ignores those of the other kinds.
(function () {
  "use strict";
  var fieldset = document.getElementById("when");
  if (!fieldset) return;
  function show() {
    var chosen = fieldset.querySelector("input[name=when]:checked");
    var when = chosen ? chosen.value : "now";
    fieldset.querySelectorAll(".when-part").forEach(function (part) {
      part.hidden = part.dataset.when.split(" ").indexOf(when) < 0;
    });
  }
  fieldset.querySelectorAll("[data-when-choice]").forEach(function (input) {
    input.addEventListener("change", show);
  });
  show();
})();
