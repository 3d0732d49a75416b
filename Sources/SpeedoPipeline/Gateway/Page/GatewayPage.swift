import SpeedoCore
import SpeedoRuntime
/// `GET /`: one page, no framework and no build step, that connects to `/ws/speed` on the server that served it and
/// shows each sensor's live speed. The page's own query (`sensor`, `sensors`, `token`) is passed on to the
/// WebSocket, so `http://HOST:PORT/?sensors=truck-*&token=…` shows only the trucks.
///
/// Sensor ids reach the page as data only (`textContent`, never markup), and a value that is not a finite number is
/// shown as a dash, not as 0.
package enum GatewayPage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>speedo: live speeds</title>
        <style>
          body { font: 16px system-ui, sans-serif; margin: 2rem; color: #222; }
          h1 { font-size: 1.3rem; margin: 0 0 .3rem; }
          #status { color: #666; margin-bottom: 1rem; }
          #status.down { color: #b00; }
          table { border-collapse: collapse; }
          th, td { padding: .3rem .8rem; text-align: right; border-bottom: 1px solid #ddd; }
          th:first-child, td:first-child { text-align: left; font-family: ui-monospace, monospace; }
          td.speed { font-size: 1.6rem; font-variant-numeric: tabular-nums; }
          td.stale { color: #999; }
        </style>
        </head>
        <body>
        <h1>Live speeds</h1>
        <div id="status">connecting…</div>
        <table>
          <thead><tr><th>sensor</th><th>km/h</th><th>min</th><th>avg</th><th>max</th><th>readings</th><th>age</th></tr></thead>
          <tbody id="sensors"></tbody>
        </table>
        <script>
        "use strict";
        const rows = new Map();
        const states = new Map();
        const statusLine = document.getElementById("status");
        const body = document.getElementById("sensors");

        function socketURL() {
          const page = new URLSearchParams(location.search);
          const query = new URLSearchParams();
          for (const name of ["sensor", "sensors", "token"]) {
            for (const value of page.getAll(name)) query.append(name, value);
          }
          const scheme = location.protocol === "https:" ? "wss:" : "ws:";
          const text = query.toString();
          return scheme + "//" + location.host + "/ws/speed" + (text ? "?" + text : "");
        }

        function shown(value, digits) {
          return typeof value === "number" && Number.isFinite(value) ? value.toFixed(digits) : "–";
        }

        function rowFor(id) {
          let row = rows.get(id);
          if (row) return row;
          row = document.createElement("tr");
          for (let index = 0; index < 7; index++) row.appendChild(document.createElement("td"));
          row.cells[0].textContent = id;
          row.cells[1].className = "speed";
          const after = [...rows.keys()].sort().find((other) => other > id);
          body.insertBefore(row, after === undefined ? null : rows.get(after));
          rows.set(id, row);
          return row;
        }

        function render(state) {
          const row = rowFor(state.sensor_id);
          row.cells[1].textContent = shown(state.speed, 1);
          row.cells[2].textContent = shown(state.min, 1);
          row.cells[3].textContent = shown(state.avg, 1);
          row.cells[4].textContent = shown(state.max, 1);
          row.cells[5].textContent = Number.isInteger(state.count) ? String(state.count) : "–";
        }

        function tick() {
          const now = Date.now() / 1000;
          for (const [id, state] of states) {
            const age = now - state.ts;
            const cell = rowFor(id).cells[6];
            cell.textContent = Number.isFinite(age) ? Math.max(0, age).toFixed(1) + " s" : "–";
            rowFor(id).cells[1].classList.toggle("stale", age > 10);
          }
        }

        let retry = 500;
        function connect() {
          const socket = new WebSocket(socketURL());
          socket.onopen = () => {
            retry = 500;
            statusLine.textContent = "live";
            statusLine.className = "";
          };
          socket.onmessage = (event) => {
            let state;
            try { state = JSON.parse(event.data); } catch { return; }
            if (!state || typeof state.sensor_id !== "string") return;
            states.set(state.sensor_id, state);
            render(state);
          };
          socket.onclose = (event) => {
            const reason = event.reason ? ": " + event.reason : "";
            statusLine.textContent = "disconnected (" + event.code + reason + "); retrying…";
            statusLine.className = "down";
            setTimeout(connect, retry);
            retry = Math.min(retry * 2, 10000);
          };
        }

        connect();
        setInterval(tick, 500);
        </script>
        </body>
        </html>

        """#
}
