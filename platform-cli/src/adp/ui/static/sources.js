// The "DAG sources" page's actions: each button POSTs to the page's own API with the
// X-Requested-By header (the server refuses an action without it), after an in-page
// confirmation for approve and rollback. The answer is shown after the page reloads.
"use strict";

const RESULT_KEY = "adp-dag-sources-result";

function showStoredResult() {
  const stored = sessionStorage.getItem(RESULT_KEY);
  if (!stored) return;
  sessionStorage.removeItem(RESULT_KEY);
  const { ok, message } = JSON.parse(stored);
  const box = document.getElementById("result");
  box.textContent = message;
  box.classList.toggle("failed", !ok);
  box.dataset.ok = String(ok);
  box.hidden = false;
}

function describe(answer, data) {
  const detail = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail);
  if (!answer.ok) return `Refused (HTTP ${answer.status}): ${detail}`;
  const reparse = data.reparse ? ` ${data.reparse}.` : "";
  return `${data.action} ${data.source}: ${data.outcome}. ${detail}.${reparse}`;
}

async function run(button, body) {
  document.querySelectorAll("button[data-url]").forEach((b) => { b.disabled = true; });
  let ok = false;
  let message;
  try {
    const answer = await fetch(button.dataset.url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-Requested-By": "adp-dag-sources" },
      body: JSON.stringify(body),
    });
    const data = await answer.json().catch(() => ({ detail: answer.statusText }));
    ok = answer.ok && data.ok !== false;
    message = describe(answer, data);
  } catch (error) {
    message = `The request failed: ${error}`;
  }
  sessionStorage.setItem(RESULT_KEY, JSON.stringify({ ok, message }));
  window.location.reload();
}

function ask(button) {
  const body = JSON.parse(button.dataset.body || "{}");
  let summary = button.dataset.confirm;
  if (button.dataset.select) {
    const value = document.getElementById(button.dataset.select).value;
    body[button.dataset.field] = value;
    summary = summary && summary.replace("{value}", value);
  }
  if (!summary) return run(button, body);
  const dialog = document.getElementById("confirm");
  dialog.querySelector("[data-role=summary]").textContent = summary;
  dialog.onclose = () => { if (dialog.returnValue === "ok") run(button, body); };
  dialog.returnValue = "";
  dialog.showModal();
}

document.addEventListener("DOMContentLoaded", () => {
  showStoredResult();
  document.querySelectorAll("button[data-url]").forEach((button) => {
    button.addEventListener("click", () => ask(button));
  });
});
