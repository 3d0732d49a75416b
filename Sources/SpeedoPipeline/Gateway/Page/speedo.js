// The gateway's live page: the recent readings from GET /api/history first, then every update from the WebSocket
// /ws/speed. Sensor ids are data: they reach the page only through textContent and DOM properties, never as markup.
"use strict";

(() => {
  const settings = document.body.dataset;
  const slowBelow = Number(settings.slowBelow);
  const cruisingBelow = Number(settings.cruisingBelow);
  const minimumFullScale = Number(settings.fullScale);
  const staleAfter = Number(settings.staleAfter);
  const windowSeconds = Number(settings.window);
  const historySeconds = Number(settings.history);
  // As many as the gateway keeps of a sensor: the memory a page holds stays bounded at any rate.
  const pointsPerSensor = Number(settings.points);
  // A sparkline is 100 units wide: more points than this are not seen, only paid for.
  const sparklinePoints = 150;
  const sparklineEveryMs = 250;

  const cards = document.getElementById("cards");
  const empty = document.getElementById("empty");
  const connection = document.getElementById("connection");
  const filter = document.getElementById("filter");
  const sort = document.getElementById("sort");
  const template = document.getElementById("card");
  const detail = document.getElementById("detail");

  /** id → { state, points: [[ts, speed]…], card, parts, dirty, sparklineDrawnAt } */
  const sensors = new Map();
  let fastest = 0;
  let shownInDetail = null;

  const page = new URLSearchParams(location.search);
  filter.value = page.get("sensors") || "";
  sort.value = ["id", "speed", "stale"].includes(page.get("sort")) ? page.get("sort") : "id";

  function band(speed) {
    return speed < slowBelow ? "slow" : speed < cruisingBelow ? "cruising" : "fast";
  }

  function fullScale() {
    return Math.max(minimumFullScale, Math.ceil(fastest / 10) * 10);
  }

  function shown(value, digits) {
    return typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "–";
  }

  function ageText(seconds) {
    if (!Number.isFinite(seconds)) return "";
    if (seconds < 60) return Math.max(0, seconds).toFixed(0) + " s ago";
    if (seconds < 3600) return (seconds / 60).toFixed(0) + " min ago";
    return (seconds / 3600).toFixed(1) + " h ago";
  }

  /**
   * The query both /api/history and /ws/speed get: the filter, or the page's own sensor=; and its token=. Encoded
   * with %20 for a space (URLSearchParams writes "+", which the gateway reads as a plus).
   */
  function query(extra) {
    const parameters = [];
    if (filter.value.trim()) {
      parameters.push(["sensors", filter.value.trim()]);
    } else {
      for (const id of page.getAll("sensor")) parameters.push(["sensor", id]);
    }
    if (page.get("token")) parameters.push(["token", page.get("token")]);
    parameters.push(...Object.entries(extra));
    const text = parameters.map(([name, value]) => encodeURIComponent(name) + "=" + encodeURIComponent(value)).join("&");
    return text ? "?" + text : "";
  }

  function showConnection(kind, text) {
    connection.className = "connection " + kind;
    connection.dataset.state = kind;
    connection.textContent = text;
  }

  // MARK: sensors and their cards

  function sensorFor(id) {
    let sensor = sensors.get(id);
    if (sensor) return sensor;
    const card = template.content.firstElementChild.cloneNode(true);
    card.dataset.sensor = id;
    const parts = {
      name: card.querySelector(".sensor"),
      value: card.querySelector(".gauge .value"),
      digits: card.querySelector(".digits"),
      sparkline: card.querySelector(".sparkline polyline"),
      min: card.querySelector(".min"),
      avg: card.querySelector(".avg"),
      max: card.querySelector(".max"),
      age: card.querySelector(".age"),
    };
    parts.name.textContent = id;
    card.addEventListener("click", () => openDetail(id));
    card.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        openDetail(id);
      }
    });
    sensor = { state: null, points: [], card, parts, dirty: true, sparklineDrawnAt: 0 };
    sensors.set(id, sensor);
    cards.appendChild(card);
    empty.hidden = true;
    orderCards();
    return sensor;
  }

  function addPoint(sensor, ts, speed) {
    if (!Number.isFinite(ts) || !Number.isFinite(speed)) return;
    const points = sensor.points;
    if (points.length && ts <= points[points.length - 1][0]) return;
    points.push([ts, speed]);
    let drop = Math.max(0, points.length - pointsPerSensor);
    while (drop < points.length && points[drop][0] < ts - historySeconds) drop++;
    if (drop) points.splice(0, drop);
    fastest = Math.max(fastest, speed);
  }

  function latestSpeed(sensor) {
    if (sensor.state && Number.isFinite(sensor.state.speed)) return sensor.state.speed;
    return sensor.points.length ? sensor.points[sensor.points.length - 1][1] : NaN;
  }

  function latestTime(sensor) {
    if (sensor.state && Number.isFinite(sensor.state.ts)) return sensor.state.ts;
    return sensor.points.length ? sensor.points[sensor.points.length - 1][0] : NaN;
  }

  /** One update from the WebSocket: a speed-latest state. */
  function apply(state) {
    if (!state || typeof state.sensor_id !== "string") return;
    const sensor = sensorFor(state.sensor_id);
    sensor.state = state;
    addPoint(sensor, state.ts, state.speed);
    sensor.dirty = true;
    requestRender();
  }

  function clearSensors() {
    for (const sensor of sensors.values()) sensor.card.remove();
    sensors.clear();
    fastest = 0;
    empty.hidden = false;
  }

  /**
   * `points` as a polyline's points in a box `width` × `height`, over the last `seconds` up to `now`; at most
   * `most` of them (evenly picked, the newest always among them).
   */
  function polyline(points, now, seconds, width, height, most) {
    const scale = fullScale();
    const start = now - seconds;
    let first = points.length;
    while (first > 0 && points[first - 1][0] >= start) first--;
    const step = Math.max(1, Math.ceil((points.length - first) / most));
    let text = "";
    for (let index = points.length - 1 - Math.floor((points.length - 1 - first) / step) * step; index < points.length; index += step) {
      const [ts, speed] = points[index];
      const x = ((ts - start) / seconds) * width;
      const y = height - (Math.min(speed, scale) / scale) * height;
      text += x.toFixed(1) + "," + y.toFixed(1) + " ";
    }
    return text;
  }

  function renderCard(sensor, now) {
    const { parts, state } = sensor;
    const speed = latestSpeed(sensor);
    sensor.card.dataset.band = Number.isFinite(speed) ? band(speed) : "";
    parts.digits.textContent = shown(speed, 1);
    const fraction = Number.isFinite(speed) ? Math.min(Math.max(speed, 0) / fullScale(), 1) : 0;
    parts.value.style.strokeDasharray = (fraction * 100).toFixed(2) + " 100";
    if (now * 1000 - sensor.sparklineDrawnAt >= sparklineEveryMs) {
      sensor.sparklineDrawnAt = now * 1000;
      parts.sparkline.setAttribute("points", polyline(sensor.points, now, windowSeconds, 100, 30, sparklinePoints));
    }
    parts.min.textContent = "min " + shown(state && state.min, 1);
    parts.avg.textContent = "avg " + shown(state && state.avg, 1);
    parts.max.textContent = "max " + shown(state && state.max, 1);
    const age = now - latestTime(sensor);
    const stale = age > staleAfter;
    sensor.card.classList.toggle("stale", stale);
    parts.age.textContent = stale ? "no reading for " + ageText(age).replace(" ago", "") : "updated " + ageText(age);
  }

  // MARK: ordering

  // sensor-2 before sensor-10, as watch orders them.
  const naturalOrder = new Intl.Collator("en", { numeric: true });

  function orderCards() {
    const now = Date.now() / 1000;
    const list = [...sensors.entries()];
    const byId = (a, b) => naturalOrder.compare(a[0], b[0]);
    if (sort.value === "speed") {
      list.sort((a, b) => (latestSpeed(b[1]) || 0) - (latestSpeed(a[1]) || 0) || byId(a, b));
    } else if (sort.value === "stale") {
      list.sort((a, b) => (now - latestTime(b[1]) || 0) - (now - latestTime(a[1]) || 0) || byId(a, b));
    } else {
      list.sort(byId);
    }
    let expected = cards.firstElementChild;
    for (const [, sensor] of list) {
      if (sensor.card !== expected) cards.insertBefore(sensor.card, expected);
      else expected = expected.nextElementSibling;
    }
  }

  // MARK: the detail view

  function openDetail(id) {
    shownInDetail = id;
    detail.querySelector(".sensor").textContent = id;
    renderDetail(Date.now() / 1000);
    if (!detail.open) detail.showModal();
  }

  function renderDetail(now) {
    const sensor = sensors.get(shownInDetail);
    if (!detail.open && shownInDetail === null) return;
    if (!sensor) return;
    const speed = latestSpeed(sensor);
    detail.dataset.band = Number.isFinite(speed) ? band(speed) : "";
    detail.querySelector(".digits").textContent = shown(speed, 1);
    detail.querySelector(".chart polyline").setAttribute(
      "points", polyline(sensor.points, now, historySeconds, 600, 200, 600));
    for (const [name, limit] of [["slow", slowBelow], ["cruising", cruisingBelow]]) {
      const line = detail.querySelector(".chart .band." + name);
      const y = (200 - (limit / fullScale()) * 200).toFixed(1);
      line.setAttribute("x1", "0");
      line.setAttribute("x2", "600");
      line.setAttribute("y1", y);
      line.setAttribute("y2", y);
    }
    detail.querySelector(".axis .from").textContent = (historySeconds / 60).toFixed(0) + " min ago";
    const state = sensor.state;
    detail.querySelector(".stats").textContent = state
      ? `last ${shown(state.window_s, 0)} s: min ${shown(state.min, 1)}, avg ${shown(state.avg, 1)}, ` +
        `max ${shown(state.max, 1)} km/h over ${Number.isInteger(state.count) ? state.count : "–"} readings`
      : "";
  }

  document.getElementById("close").addEventListener("click", () => detail.close());
  detail.addEventListener("close", () => {
    shownInDetail = null;
  });

  // MARK: rendering, at most once a frame

  let frameRequested = false;
  function requestRender() {
    if (frameRequested) return;
    frameRequested = true;
    requestAnimationFrame(() => {
      frameRequested = false;
      const now = Date.now() / 1000;
      for (const sensor of sensors.values()) {
        if (!sensor.dirty) continue;
        sensor.dirty = false;
        renderCard(sensor, now);
      }
      if (shownInDetail !== null) renderDetail(now);
    });
  }

  // Once a second: sparklines move with the clock, ages grow, the order follows speeds and staleness.
  setInterval(() => {
    for (const sensor of sensors.values()) sensor.dirty = true;
    if (sort.value !== "id") orderCards();
    requestRender();
    if (socket && socket.readyState === WebSocket.OPEN) {
      const quiet = (Date.now() - lastMessageAt) / 1000;
      if (quiet > staleAfter) showConnection("stale", "connected; no update for " + ageText(quiet).replace(" ago", ""));
      else if (connection.dataset.state !== "live") showConnection("live", "connected");
    }
  }, 1000);

  // MARK: the connection

  let socket = null;
  let generation = 0;
  let attempt = 0;
  let retryTimer = 0;
  let lastMessageAt = 0;

  /** Tries again after a backoff: 0.5 s, doubling up to 10 s. */
  function retry(reason) {
    attempt += 1;
    const delay = Math.min(500 * 2 ** (attempt - 1), 10000);
    const seconds = Math.round(delay / 100) / 10;
    showConnection("down", `reconnecting in ${seconds} s (attempt ${attempt}): ${reason}`);
    retryTimer = setTimeout(connect, delay);
  }

  async function refusal(response) {
    try {
      const body = await response.json();
      if (body && typeof body.message === "string") return body.message;
    } catch (error) {
      // Not JSON: the status says enough.
    }
    return response.statusText || "refused";
  }

  async function connect() {
    const mine = ++generation;
    clearTimeout(retryTimer);
    if (socket) {
      socket.onclose = null;
      socket.close();
      socket = null;
    }
    let recent;
    try {
      const response = await fetch("/api/history" + query({ since: historySeconds + "s" }), { cache: "no-store" });
      if (mine !== generation) return;
      if (response.status === 401 || response.status === 403) {
        const what = response.status === 401 ? "not authorised" : "forbidden";
        showConnection("refused", `${what} (${response.status}): ${await refusal(response)}`);
        retryTimer = setTimeout(connect, 30000);
        return;
      }
      if (response.status === 400) {
        showConnection("refused", "the gateway refused this filter: " + (await refusal(response)));
        return;
      }
      if (!response.ok) throw new Error("HTTP " + response.status);
      recent = await response.json();
    } catch (error) {
      if (mine === generation) retry("the gateway cannot be reached");
      return;
    }
    if (mine !== generation) return;
    for (const entry of Array.isArray(recent.sensors) ? recent.sensors : []) {
      if (!entry || typeof entry.sensor_id !== "string" || !Array.isArray(entry.readings)) continue;
      const sensor = sensorFor(entry.sensor_id);
      for (const point of entry.readings) {
        if (Array.isArray(point)) addPoint(sensor, point[0], point[1]);
      }
      sensor.dirty = true;
    }
    requestRender();

    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(scheme + "//" + location.host + "/ws/speed" + query({}));
    socket = ws;
    ws.onopen = () => {
      attempt = 0;
      lastMessageAt = Date.now();
      showConnection("live", "connected");
    };
    ws.onmessage = (event) => {
      lastMessageAt = Date.now();
      let state;
      try {
        state = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      apply(state);
    };
    ws.onclose = (event) => {
      if (socket !== ws) return;
      socket = null;
      retry("connection closed" + (event.reason ? " (" + event.reason + ")" : ""));
    };
  }

  // MARK: controls

  let filterTimer = 0;
  function remember() {
    const address = new URLSearchParams(location.search);
    if (filter.value.trim()) address.set("sensors", filter.value.trim());
    else address.delete("sensors");
    if (sort.value !== "id") address.set("sort", sort.value);
    else address.delete("sort");
    const text = address.toString();
    history.replaceState(null, "", location.pathname + (text ? "?" + text : ""));
  }

  filter.addEventListener("input", () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(() => {
      remember();
      clearSensors();
      attempt = 0;
      connect();
    }, 300);
  });

  sort.addEventListener("change", () => {
    remember();
    orderCards();
  });

  connect();
})();
