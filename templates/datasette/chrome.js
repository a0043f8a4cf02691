// auditbot: what Datasette 0.65's table.js writes into the page in English, in Vietnamese.
// table.js is deferred, so it has built the column menu and the filters' ✖ links before DOMContentLoaded.
document.addEventListener("DOMContentLoaded", function () {
  var words = {
    "a.dropdown-sort-asc": "Sắp xếp tăng dần",
    "a.dropdown-sort-desc": "Sắp xếp giảm dần",
    "a.dropdown-facet": "Lọc nhanh theo cột này",
    "a.dropdown-hide-column": "Ẩn cột này",
    "a.dropdown-show-all-columns": "Hiện mọi cột",
    "a.dropdown-not-blank": "Chỉ các dòng có giá trị",
  };
  Object.keys(words).forEach(function (selector) {
    document.querySelectorAll(selector).forEach(function (link) {
      link.textContent = words[selector];
    });
  });
  document.querySelectorAll('a[aria-label="Remove this filter"]').forEach(function (link) {
    link.setAttribute("aria-label", "Bỏ điều kiện này");
  });
  // the menu writes "Type: TEXT" each time it opens
  document.querySelectorAll(".dropdown-column-type").forEach(function (type) {
    new MutationObserver(function () {
      if (type.textContent.indexOf("Type: ") === 0) {
        type.textContent = "Kiểu dữ liệu: " + type.textContent.slice(6);
      }
    }).observe(type, { childList: true, characterData: true, subtree: true });
  });
});
