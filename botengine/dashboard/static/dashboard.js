// botengine dashboard: small helps on top of pages that work without JavaScript.
(function () {
  "use strict";
  // Times show in the zone the person picked; until they pick one, in this browser's own zone.
  if (!/(?:^|;\s*)botengine_tz=/.test(document.cookie) && window.Intl) {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
    document.cookie = "botengine_tz=" + encodeURIComponent(zone) + "; path=/dashboard; max-age=34560000; samesite=strict";
    if (zone !== "UTC" && document.querySelector("time")) { location.reload(); }
  }
  // "Tick all" boxes tick the boxes of their table.
  document.querySelectorAll("input[data-tick-all]").forEach(function (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll("input[name=id]").forEach(function (box) { box.checked = all.checked; });
    });
  });
  // Buttons that cannot be undone ask first.
  document.querySelectorAll("button[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
  // The playground and the editor's try panel: show the fields of the chosen way to try.
  document.querySelectorAll("[data-modes]").forEach(function (box) {
    var radios = box.querySelectorAll("input[name=mode]");
    function show() {
      var chosen = box.querySelector("input[name=mode]:checked");
      box.querySelectorAll("[data-mode]").forEach(function (part) {
        part.hidden = !chosen || part.getAttribute("data-mode") !== chosen.value;
      });
    }
    radios.forEach(function (radio) { radio.addEventListener("change", show); });
    show();
  });
})();
