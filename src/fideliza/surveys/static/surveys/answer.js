// The survey page: show a conditional question only while its question's answer is at most
// its value, and save at once the score chosen from the e-mail (data-autosave).
(function () {
  "use strict";
  var form = document.getElementById("survey-answer");
  if (!form) { return; }

  function valueOf(name) {
    var checked = form.querySelector('input[name="' + name + '"]:checked');
    return checked ? parseInt(checked.value, 10) : null;
  }

  function refresh() {
    form.querySelectorAll("[data-show-if]").forEach(function (box) {
      var value = valueOf(box.getAttribute("data-show-if"));
      var max = parseInt(box.getAttribute("data-show-max"), 10);
      box.hidden = value === null || isNaN(max) || value > max;
    });
  }

  form.addEventListener("change", refresh);
  refresh();

  if (form.getAttribute("data-autosave") === "1") {
    var data = new FormData(form);
    data.set("action", "save");
    var status = document.getElementById("autosave-status");
    fetch(window.location.pathname, {
      method: "POST", body: data, credentials: "same-origin",
      headers: {"X-Requested-With": "fetch"}
    }).then(function (response) {
      if (response.ok && status) { status.textContent = form.getAttribute("data-saved-text") || ""; }
      form.setAttribute("data-saved", response.ok ? "1" : "0");
    });
  }
})();
