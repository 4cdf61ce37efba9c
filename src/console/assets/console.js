// Samverkan console: the one script (the CSP forbids inline script). It only adds
// conveniences; every page works without it.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // "Select all" for the dead-letter replay form, when present.
  var all = document.getElementById("select-all");
  if (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll("input[type=checkbox][name=id]").forEach(function (box) {
        box.checked = all.checked;
      });
    });
  }
});
