// Keyboard review on the card page: a approve, r choose a rejection tag, e edit, n next card, q queue.
// Keys typed into a field are left alone, so notes and edits type normally.
(function () {
  "use strict";
  function byId(id) { return document.getElementById(id); }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) { return; }
    var target = event.target;
    if (target && target.closest && target.closest("input, textarea, select, button, [contenteditable]")) { return; }
    var approve = byId("approve-button"), tag = byId("reject-tag"), next = byId("next-card");
    var queue = byId("back-to-queue"), subject = byId("id_subject");
    switch (event.key) {
      case "a":
        if (approve && !approve.disabled) { event.preventDefault(); approve.click(); }
        break;
      case "r":
        if (tag) { event.preventDefault(); tag.focus(); }
        break;
      case "e":
        if (subject) { event.preventDefault(); subject.focus(); }
        break;
      case "n":
      case "j":
        if (next) { event.preventDefault(); window.location.assign(next.href); }
        break;
      case "q":
        if (queue) { event.preventDefault(); window.location.assign(queue.href); }
        break;
    }
  });
})();
