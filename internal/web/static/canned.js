// Inserts the picked canned reply into the reply box in place. Without
// script the picker's button sends the reply form (action=insert): the page
// comes back with the canned reply added after what was written. The
// bodies, already filled in for the ticket in the customer's language, are
// in the options' data-body.
(function () {
  "use strict";
  var button = document.getElementById("canned-insert");
  var select = document.getElementById("canned");
  var text = document.getElementById("text");
  if (!button || !select || !text) {
    return;
  }
  button.addEventListener("click", function (e) {
    var option = select.options[select.selectedIndex];
    if (!option || option.dataset.body === undefined) {
      return; // let the form go to the server
    }
    e.preventDefault();
    var body = option.dataset.body;
    // Added after what the agent already wrote, never over it.
    text.value = text.value.trim() === "" ? body : text.value.replace(/\s+$/, "") + "\n\n" + body;
    text.focus();
  });
})();
