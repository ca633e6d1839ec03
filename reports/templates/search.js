// Unit search (index.html): typing filters the unit tree, with or without Vietnamese diacritics.
// A unit shows when every typed word is in its name; its ancestors stay visible with their
// <details> open. Enter opens the first match. Clearing the box restores the tree as it was.
// Pages without #unit-search (the unit pages) only get the print hook at the end.
(function () {
  "use strict";
  function fold(text) {
    return String(text || "").toLowerCase().normalize("NFD")
      .replace(/[\u0300-\u036f]/g, "").replace(/\u0111/g, "d").replace(/\s+/g, " ").trim();
  }
  function each(list, fn) { Array.prototype.forEach.call(list, fn); }

  var input = document.getElementById("unit-search");
  var tree = input && (input.closest(".tree") || document.getElementById("tree"));
  if (input && tree) {
    var count = document.getElementById("unit-search-count");
    var items = [];  // document order: a parent comes before its children
    each(tree.querySelectorAll("li"), function (li) {
      var link = li.querySelector(":scope > a, :scope > details > summary > a");
      var up = li.parentElement && li.parentElement.closest("li");
      items.push({
        li: li, link: link, name: fold(link ? link.textContent : ""),
        details: li.querySelector(":scope > details"),
        parent: up && tree.contains(up) ? up : null,
      });
    });
    var byLi = new Map(items.map(function (item) { return [item.li, item]; }));
    var saved = null;  // the <details> open before the search began, restored when it is cleared
    var matches = [];

    var show = function (text) {
      if (!count) return;
      var found = count.getAttribute("data-found"), none = count.getAttribute("data-none");
      if (text === null) count.textContent = "";
      else if (matches.length === 0 && none) count.textContent = none;
      else if (found) count.textContent = found.replace("{n}", String(matches.length));
      else count.textContent = text;
    };

    var restore = function () {
      each(tree.querySelectorAll("li"), function (li) {
        li.style.display = "";
        li.classList.remove("search-hit");
      });
      if (saved) saved.forEach(function (open, d) { d.open = open; });
      saved = null;
      matches = [];
      show(null);
    };

    var filter = function () {
      var words = fold(input.value).split(" ").filter(Boolean);
      if (!words.length) { restore(); return; }
      if (!saved) {
        saved = new Map();
        each(tree.querySelectorAll("details"), function (d) { saved.set(d, d.open); });
      }
      var hit = new Set(), leads = new Set();  // matching units; units above a match
      matches = [];
      items.forEach(function (item) {
        if (words.every(function (w) { return item.name.indexOf(w) >= 0; })) {
          hit.add(item.li);
          matches.push(item);
          for (var p = item.parent; p && !leads.has(p); p = byLi.get(p).parent) leads.add(p);
        }
      });
      items.forEach(function (item) {
        var li = item.li;
        // Visible: a match, a unit above one, or (folded away) a unit below a match that has
        // no match of its own further down, so that a found district can still be unfolded.
        var below = false;
        for (var p = item.parent; p; p = byLi.get(p).parent) {
          if (hit.has(p)) { below = !leads.has(p); break; }
          if (leads.has(p)) break;
        }
        var visible = hit.has(li) || leads.has(li) || below;
        li.style.display = visible ? "" : "none";
        li.classList.toggle("search-hit", hit.has(li));
        if (item.details && !below) item.details.open = leads.has(li);
      });
      show(matches.length + " / " + items.length);
    };

    input.addEventListener("input", filter);
    input.addEventListener("search", filter);
    input.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { input.value = ""; restore(); return; }
      if (e.key !== "Enter") return;
      if (!matches.length) filter();
      var first = matches[0];
      if (first && first.link) { e.preventDefault(); window.location.href = first.link.href; }
    });
    if (input.value) filter();  // a value the browser kept when coming back to the page
  }

  // Printing: a coverage list prints as its summary line (the count) unless it is open on
  // screen, whatever opens the lists for printing (the print CSS reads data-print-open, kept
  // up to date here as the reader unfolds a list); afterwards the screen is as it was.
  each(document.querySelectorAll("details.list"), function (d) {
    d.setAttribute("data-print-open", d.open ? "1" : "0");
    var summary = d.querySelector(":scope > summary");
    if (summary) summary.addEventListener("click", function () {
      d.setAttribute("data-print-open", d.open ? "0" : "1");  // before the click toggles it
    });
  });
  window.addEventListener("afterprint", function () {
    each(document.querySelectorAll('details.list[data-print-open="0"]'), function (d) {
      d.open = false;
    });
  });
})();
