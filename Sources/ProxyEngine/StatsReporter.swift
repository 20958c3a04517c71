import Foundation
import Prometheus
import ProxyConfig

/// A rendered stats answer.
struct StatsPage: Sendable {
    var contentType: String
    var body: String
    var refreshSeconds: Int?
}

/// Answers the `stats uri` of a frontend: the HTML page (auto-refresh with `stats refresh`), and, with a
/// suffix as in HAProxy, `;csv`, `;json`, or `;prometheus` (text exposition format).
struct StatsReporter: Sendable {
    let settings: StatsSettings
    let source: StatsSource
    /// The section whose `stats` lines these are (`stats scope .`).
    let holder: String

    /// Whether a request with this `Authorization` value may see the page: always without `stats auth`;
    /// else HTTP Basic credentials equal to one `stats auth USER:PASSWORD`.
    func authorizes(_ authorization: String?) -> Bool {
        guard !settings.credentials.isEmpty else { return true }
        guard let authorization, authorization.count > 6, authorization.prefix(6).lowercased() == "basic ",
            let decoded = Data(base64Encoded: String(authorization.dropFirst(6).drop { $0 == " " }))
        else { return false }
        let pair = Array(decoded)
        return settings.credentials.contains { pair == Array("\($0.user):\($0.password)".utf8) }
    }

    /// The `WWW-Authenticate` value sent with a 401.
    var challenge: String { "Basic realm=\"\(settings.realm)\"" }

    func page(for uri: String) -> StatsPage {
        let suffix = uri.dropFirst(settings.uri.count)
        var rows = source.rows()
        if !settings.scope.isEmpty {
            let shown = Set(settings.scope.map { $0 == "." ? holder : $0 })
            rows = rows.filter { shown.contains($0.proxy) }
        }
        if suffix.hasPrefix(";csv") { return StatsPage(contentType: "text/plain; charset=utf-8", body: Self.csv(rows)) }
        if suffix.hasPrefix(";json") { return StatsPage(contentType: "application/json", body: Self.json(rows)) }
        if suffix.hasPrefix(";prometheus") || suffix.hasPrefix(";metrics") {
            return StatsPage(contentType: "text/plain; version=0.0.4; charset=utf-8", body: Self.prometheus(rows))
        }
        let refresh = settings.refresh.map { max(1, Int($0.components.seconds)) }
        return StatsPage(
            contentType: "text/html; charset=utf-8",
            body: html(rows, refresh: refresh),
            refreshSeconds: refresh
        )
    }

    static let csvColumns = [
        "pxname", "svname", "type", "mode", "status", "scur", "stot", "req_tot", "bin", "bout", "errors", "weight",
        "backup", "check_status", "check_age_s", "lastchg_s",
    ]

    static func csv(_ rows: [StatsRow]) -> String {
        var text = "# " + csvColumns.joined(separator: ",") + "\n"
        for row in rows {
            let fields: [String] = [
                row.proxy, row.name, row.kind.rawValue, row.mode, row.status, "\(row.current)", "\(row.total)",
                "\(row.requests)", "\(row.bytesIn)", "\(row.bytesOut)", "\(row.errors)", "\(row.weight)",
                row.backup ? "1" : "0", row.lastCheck, row.lastCheckSeconds.map(String.init) ?? "",
                "\(row.lastChangeSeconds)",
            ]
            text += fields.map(csvField).joined(separator: ",") + "\n"
        }
        return text
    }

    private static func csvField(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    static func json(_ rows: [StatsRow]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return (try? String(decoding: encoder.encode(rows), as: UTF8.self)) ?? "[]"
    }

    static func prometheus(_ rows: [StatsRow]) -> String {
        let registry = PrometheusCollectorRegistry()
        for row in rows {
            let kind = row.kind.rawValue
            var labels = [("proxy", row.proxy)]
            if row.kind == .server { labels.append(("server", row.name)) }
            func descriptor(_ name: String, _ help: String) -> MetricNameDescriptor {
                MetricNameDescriptor(
                    namespace: "failover_proxy",
                    subsystem: kind,
                    metricName: name,
                    unitName: "",
                    helpText: help
                )
            }
            func gauge(_ name: String, _ help: String, _ value: Int) {
                registry.makeGauge(descriptor: descriptor(name, help), labels: labels)
                    .set(Double(value))
            }
            func counter(_ name: String, _ help: String, _ value: Int) {
                registry.makeCounter(descriptor: descriptor(name, help), labels: labels)
                    .increment(by: Int64(value))
            }
            gauge("current_sessions", "Connections or requests open now.", row.current)
            counter("sessions_total", "Connections or requests since the engine started.", row.total)
            counter("bytes_in_total", "Bytes read from clients (frontend) or servers.", row.bytesIn)
            counter("bytes_out_total", "Bytes written to clients (frontend) or servers.", row.bytesOut)
            counter("errors_total", "Refused or failed requests and connections.", row.errors)
            switch row.kind {
            case .frontend:
                counter("http_requests_total", "HTTP requests received.", row.requests)
            case .backend, .server:
                gauge("up", "1 when serving (a backend: any server up).", row.status == "UP" ? 1 : 0)
                gauge("last_change_seconds", "Seconds since the status last changed.", row.lastChangeSeconds)
            }
        }
        return registry.emitToString()
    }

    func html(_ rows: [StatsRow], refresh: Int?) -> String {
        let escape = HTTPErrorPage.escape
        var page = """
            <!DOCTYPE html>
            <html><head><meta charset="utf-8"><title>failover-agent proxy stats</title>
            <style>
            body{font-family:sans-serif;font-size:13px}table{border-collapse:collapse;margin-bottom:1em}
            th,td{border:1px solid #999;padding:2px 6px;text-align:right}td.l,th.l{text-align:left}
            tr.frontend,tr.backend{background:#ddd;font-weight:bold}tr.UP td.s{background:#8d8}
            tr.DOWN td.s{background:#e88}tr.MAINT td.s{background:#bbf}
            </style></head><body>
            <h1>failover-agent proxy</h1>
            <p>Up \(Int((ContinuousClock.now - source.started).components.seconds)) s.\
            \(refresh.map { " Refreshes every \($0) s." } ?? "") Also as
            <a href="\(escape(settings.uri));csv">CSV</a>, <a href="\(escape(settings.uri));json">JSON</a>,
            <a href="\(escape(settings.uri));prometheus">Prometheus</a>.</p>

            """
        var proxy: String?
        for row in rows {
            if row.proxy != proxy || row.kind == .frontend {
                if proxy != nil { page += "</table>\n" }
                proxy = row.proxy
                page += "<table><tr><th class=l>\(escape(row.proxy))</th><th>status</th><th>cur</th><th>total</th>"
                page += "<th>requests</th><th>bytes in</th><th>bytes out</th><th>errors</th><th>weight</th>"
                page += "<th class=l>last check</th><th>last change</th></tr>\n"
            }
            let cells = [
                "\(row.current)", "\(row.total)", row.kind == .frontend ? "\(row.requests)" : "",
                "\(row.bytesIn)", "\(row.bytesOut)", "\(row.errors)",
                row.kind == .frontend ? "" : "\(row.weight)\(row.backup ? " (backup)" : "")",
            ]
            let check =
                row.lastCheck.isEmpty ? "" : "\(row.lastCheck) (\(row.lastCheckSeconds.map { "\($0) s ago" } ?? "-"))"
            page += "<tr class=\"\(row.kind.rawValue) \(row.status)\"><td class=l>\(escape(row.name))</td>"
            page += "<td class=s>\(escape(row.status))</td>"
            page += cells.map { "<td>\($0)</td>" }.joined()
            page += "<td class=l>\(escape(check))</td><td>\(row.lastChangeSeconds) s</td></tr>\n"
        }
        if proxy != nil { page += "</table>\n" }
        return page + "</body></html>\n"
    }
}
