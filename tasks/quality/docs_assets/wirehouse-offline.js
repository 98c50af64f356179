/* wirehouse: a tiny stand-in for the jQuery / Bootstrap-Table calls in Great Expectations' Data Docs,
   so the pages render offline (GE links them from CDNs). Tables become plain sortable-free HTML tables. */
(function () {
  function Wrapped(nodes) { this.nodes = nodes; this.length = nodes.length; }
  var noop = function () { return this; };
  ["on", "removeClass", "addClass", "modal", "fadeIn", "fadeOut", "show", "hide", "tooltip", "popover",
   "css", "attr"].forEach(function (name) { Wrapped.prototype[name] = noop; });
  Wrapped.prototype.parent = function () { return this; };
  Wrapped.prototype.ready = function (fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
    return this;
  };
  Wrapped.prototype.data = function (key) { return this.nodes[0] ? this.nodes[0].getAttribute("data-" + key) : null; };
  Wrapped.prototype.bootstrapTable = function (options) {
    if (!options || typeof options !== "object") { return this; }
    this.nodes.forEach(function (table) {
      var columns = options.columns || [];
      var head = "<thead><tr>" + columns.map(function (c) { return "<th>" + (c.title || c.field) + "</th>"; }).join("") +
        "</tr></thead>";
      var rows = (options.data || []).map(function (row) {
        var link = row._table_row_link_path;
        var cells = columns.map(function (c) {
          var value = row[c.field] === undefined ? "" : row[c.field];
          return "<td>" + (link ? '<a href="' + encodeURI(link).replace(/%25/g, "%") + '">' + value + "</a>" : value) + "</td>";
        }).join("");
        return "<tr>" + cells + "</tr>";
      }).join("");
      table.innerHTML = head + "<tbody>" + rows + "</tbody>";
      table.classList.add("wirehouse-table");
    });
    return this;
  };
  function $(selector) {
    if (typeof selector === "function") { return new Wrapped([document]).ready(selector); }
    if (typeof selector !== "string") { return new Wrapped(selector ? [selector] : []); }
    try { return new Wrapped(Array.prototype.slice.call(document.querySelectorAll(selector))); }
    catch (e) { return new Wrapped([]); }
  }
  $.fn = Wrapped.prototype;
  window.$ = window.jQuery = $;
})();
