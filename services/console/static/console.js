// Heatline console: small enhancements on pages that work without it.
"use strict";

// The queue refreshes itself every five seconds and marks tickets it had not shown before.
function liveQueue() {
  const table = document.getElementById("queue");
  if (!table || !table.dataset.live) return;
  const rows = document.getElementById("queue-rows");
  const seen = new Set([...rows.querySelectorAll("tr[data-ticket]")].map(r => r.dataset.ticket));
  const mark = table.dataset.new;
  async function tick() {
    try {
      const answer = await fetch(table.dataset.live, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (answer.status === 401) { location.reload(); return; }
      if (!answer.ok) return;
      const data = await answer.json();
      rows.innerHTML = data.rows;
      for (const row of rows.querySelectorAll("tr[data-ticket]")) {
        if (!seen.has(row.dataset.ticket)) {
          row.classList.add("new");
          const tag = document.createElement("span");
          tag.className = "new-tag";
          tag.textContent = mark;
          row.cells[1].appendChild(tag);
          seen.add(row.dataset.ticket);
        }
      }
      for (const [band, count] of Object.entries(data.bands)) {
        const cell = document.querySelector('[data-band="' + band + '"]');
        if (cell) cell.textContent = count;
      }
      const total = document.querySelector('[data-band="total"]');
      if (total) total.textContent = data.total;
      document.getElementById("updated").textContent = data.updated;
    } catch (e) { /* offline for a moment: the next tick tries again */ }
  }
  setInterval(tick, 5000);
}

// The crew's check-in: the browser's position into the form.
function locate() {
  for (const button of document.querySelectorAll("button.locate")) {
    const fill = () => navigator.geolocation && navigator.geolocation.getCurrentPosition(p => {
      document.getElementById(button.dataset.lat).value = p.coords.latitude.toFixed(6);
      document.getElementById(button.dataset.lon).value = p.coords.longitude.toFixed(6);
    }, () => {}, { enableHighAccuracy: true, timeout: 10000 });
    button.addEventListener("click", fill);
    fill();
  }
}

// The hotline's address: the building registry's addresses as the operator types.
function completeAddress() {
  const input = document.getElementById("address");
  if (!input || !input.dataset.complete) return;
  const list = document.getElementById(input.getAttribute("list"));
  let timer = null;
  input.addEventListener("input", () => {
    clearTimeout(timer);
    const typed = input.value.trim();
    if (typed.length < 2) return;
    timer = setTimeout(async () => {
      try {
        const answer = await fetch(input.dataset.complete + "?address=" + encodeURIComponent(typed), { headers: { Accept: "application/json" } });
        if (!answer.ok) return;
        const found = await answer.json();
        list.replaceChildren(...found.map(a => { const o = document.createElement("option"); o.value = a; return o; }));
      } catch (e) { /* no completion this time */ }
    }, 250);
  });
}

// An appeal's attachment: the file, base64, into the form's hidden fields.
function attachments() {
  for (const input of document.querySelectorAll('input[type="file"][data-into]')) {
    input.addEventListener("change", () => {
      const form = input.form, file = input.files[0];
      if (!file) return;
      const reader = new FileReader();
      reader.onload = () => {
        form.elements[input.dataset.into + "_base64"].value = String(reader.result).split(",")[1] || "";
        form.elements[input.dataset.into + "_name"].value = file.name;
      };
      reader.readAsDataURL(file);
    });
  }
}

document.addEventListener("DOMContentLoaded", () => { liveQueue(); locate(); completeAddress(); attachments(); });
