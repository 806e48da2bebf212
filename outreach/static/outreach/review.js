// Keyboard review on the card page: a approve, r choose a rejection tag, e edit, n next card, q queue,
// u undo the last decision while its window lasts. On the queue, the filter sidebar folds
// and the hygiene line is read after the list.
// Keys typed into a field are left alone, so notes and edits type normally.
(function () {
  "use strict";
  function byId(id) { return document.getElementById(id); }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) { return; }
    var target = event.target;
    if (target && target.closest && target.closest("input, textarea, select, button, [contenteditable]")) { return; }
    var approve = byId("approve-button"), tag = byId("reject-tag"), next = byId("next-card");
    var queue = byId("back-to-queue"), subject = byId("id_subject"), undo = byId("undo-button");
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
        if (next) { event.preventDefault(); openCard(next.href); }
        break;
      case "u":
        if (undo && !undo.disabled) { event.preventDefault(); undo.click(); }
        break;
      case "q":
        if (queue) { event.preventDefault(); window.location.assign(queue.href); }
        break;
    }
  });

  // The undo offer counts down and goes when the server would refuse it.
  var undoTimer = null;
  function startUndoCountdown() {
    if (undoTimer) { window.clearInterval(undoTimer); undoTimer = null; }
    var bar = byId("undo-bar");
    if (!bar) { return; }
    var left = parseInt(bar.getAttribute("data-seconds"), 10) || 0;
    var countdown = byId("undo-countdown");
    undoTimer = window.setInterval(function () {
      left -= 1;
      if (left <= 0) { window.clearInterval(undoTimer); undoTimer = null; bar.remove(); return; }
      if (countdown) { countdown.textContent = left + " s left"; }
    }, 1000);
  }
  startUndoCountdown();

  // Moving between cards (n, the queue beside the card) fetches the next card page and swaps
  // the page body in place: no full page trip. Decisions stay ordinary form posts. Anything
  // unexpected (an error, a login page, no fetch) falls back to a plain navigation.
  function openCard(url) {
    if (!window.fetch || !window.DOMParser || !window.history.pushState) { window.location.assign(url); return; }
    window.fetch(url, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok || response.redirected) { throw new Error("not a card page"); }
      return response.text();
    }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html");
      if (!fresh.getElementById("review-card")) { throw new Error("not a card page"); }
      document.title = fresh.title;
      document.documentElement.replaceChild(document.adoptNode(fresh.body), document.body);
      window.history.pushState({ card: url }, "", url);
      window.scrollTo(0, 0);
      startUndoCountdown();
    }).catch(function () { window.location.assign(url); });
  }
  document.addEventListener("click", function (event) {
    if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) { return; }
    var link = event.target.closest && event.target.closest("#desk-queue a, #next-card");
    if (!link) { return; }
    event.preventDefault();
    openCard(link.href);
  });
  // Back and forward return to pages the swap replaced: load them for real.
  window.addEventListener("popstate", function () { window.location.reload(); });

  // The hygiene line counts the whole pending queue, so the list does not wait for it:
  // it is read as soon as the list is shown. The server escapes it (format_html).
  var hygiene = byId("hygiene-line");
  if (hygiene && hygiene.getAttribute("data-src") && window.fetch) {
    window.fetch(hygiene.getAttribute("data-src"), { credentials: "same-origin" }).then(function (response) {
      if (!response.ok || response.redirected) { throw new Error("no hygiene line"); }
      return response.text();
    }).then(function (html) {
      hygiene.innerHTML = html;
      hygiene.setAttribute("data-loaded", "yes");
    }).catch(function () { /* the link to the line stays */ });
  }

  // The queue's filter sidebar folds, remembered for the session.
  var changelist = byId("changelist"), filters = byId("changelist-filter");
  if (changelist && filters) {
    var toggle = document.createElement("button");
    toggle.type = "button";
    toggle.className = "button filter-toggle";
    toggle.id = "filter-toggle";
    var folded = window.sessionStorage.getItem("caio.filtersFolded") !== "no";
    var show = function () {
      changelist.classList.toggle("filters-folded", folded);
      toggle.textContent = folded ? "Show filters" : "Hide filters";
      toggle.setAttribute("aria-expanded", folded ? "false" : "true");
    };
    toggle.addEventListener("click", function () {
      folded = !folded;
      window.sessionStorage.setItem("caio.filtersFolded", folded ? "yes" : "no");
      show();
    });
    changelist.parentNode.insertBefore(toggle, changelist);
    show();
  }
})();
