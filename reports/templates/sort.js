// Sortable tables: click (or Enter on) a column title. Cells may carry data-v with the raw value;
// empty values always sort last. A data-type="key" column's data-v is a collation key made by
// the build (Vietnamese letter order, proper name before the unit type), compared as is.
(function () {
  function key(cell, numeric) {
    var raw = cell.getAttribute("data-v");
    if (raw === null) raw = cell.textContent.trim();
    if (numeric === "key") return raw;
    if (!numeric) return raw.toLocaleLowerCase("vi");
    return raw === "" ? NaN : parseFloat(raw);
  }
  function sortBy(table, th, col) {
    var numeric = th.getAttribute("data-type") === "num";
    var descending = th.getAttribute("aria-sort") !== (numeric ? "descending" : "ascending");
    if (!numeric) descending = !descending;
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var kind = th.getAttribute("data-type") === "key" ? "key" : numeric;
      var x = key(a.cells[col], kind), y = key(b.cells[col], kind);
      if (numeric) {
        if (isNaN(x) || isNaN(y)) return isNaN(x) - isNaN(y);
        return descending ? y - x : x - y;
      }
      var c = th.getAttribute("data-type") === "key" ? (x < y ? -1 : x > y ? 1 : 0)
        : x.localeCompare(y, "vi");
      return descending ? -c : c;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      th.tabIndex = 0;
      th.addEventListener("click", function () { sortBy(table, th, col); });
      th.addEventListener("keydown", function (e) { if (e.key === "Enter") sortBy(table, th, col); });
    });
  });
})();
