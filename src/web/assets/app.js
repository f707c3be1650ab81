// Keyboard review on the lead queue, as image-review tools offer: j/k move, Enter opens,
// c/r/n decide with the reason typed above the table, s skips. No other script runs.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const rows = Array.from(document.querySelectorAll("#queue tr.lead"));
  if (rows.length === 0) return;
  let at = 0;
  const mark = () => rows.forEach((r, i) => r.classList.toggle("selected", i === at));
  mark();
  const reason = document.getElementById("quick-reason");
  const form = document.getElementById("quick");
  const decide = (decision) => {
    const why = reason.value.trim();
    if (!why) { reason.focus(); reason.placeholder = "a reason is required"; return; }
    form.action = "/lead/" + rows[at].dataset.id + "/decide";
    form.elements.decision.value = decision;
    form.elements.reason.value = why;
    form.submit();
  };
  document.addEventListener("keydown", (e) => {
    if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    switch (e.key) {
      case "j": case "s": at = Math.min(at + 1, rows.length - 1); mark(); break;
      case "k": at = Math.max(at - 1, 0); mark(); break;
      case "Enter": window.location = "/lead/" + rows[at].dataset.id; break;
      case "c": decide("confirm"); break;
      case "r": decide("reject"); break;
      case "n": decide("needs-info"); break;
      default: return;
    }
    e.preventDefault();
  });
});

// The network page's time slider: from the first to the last day of the contacts shown;
// letting go of it redraws the network with the contacts up to that day.
document.addEventListener("DOMContentLoaded", () => {
  const slider = document.getElementById("time-slider");
  if (!slider) return;
  const first = Date.parse(slider.dataset.first + "T00:00:00Z");
  const last = Date.parse(slider.dataset.last + "T00:00:00Z");
  const until = slider.form.elements.until;
  const day = () => new Date(first + (last - first) * slider.value / 1000).toISOString().slice(0, 10);
  if (until.value) {
    const at = Date.parse(until.value + "T00:00:00Z");
    if (last > first) slider.value = Math.round(1000 * (at - first) / (last - first));
  }
  slider.addEventListener("input", () => {
    document.getElementById("time-slider-day").textContent = day();
  });
  slider.addEventListener("change", () => {
    until.value = day();
    slider.form.submit();
  });
});
