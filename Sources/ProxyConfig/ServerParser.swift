/// Reads one `server NAME ADDR:PORT [options]` line.
enum ServerParser {
    static func parse(_ words: [String], _ number: Int, _ state: inout ParserState) -> Server? {
        guard words.count >= 3 else {
            state.error(number, "server", "needs a name and ADDR:PORT, like 'server web1 192.0.2.21:8080 check'")
            return nil
        }
        guard let (address, port) = AddressParser.server(words[2]) else {
            state.error(
                number,
                "server",
                "'\(words[2])' is not ADDR:PORT with an IP address (names are not resolved; write the address)"
            )
            return nil
        }
        var server = Server(
            name: words[1],
            line: number,
            address: address,
            port: port,
            check: false,
            interval: .seconds(2),
            rise: 2,
            fall: 3,
            backup: false,
            weight: 1,
            maxConnections: nil,
            disabled: false,
            cookie: nil
        )
        var index = 3
        func value() -> String? {
            guard index + 1 < words.count else { return nil }
            index += 1
            return words[index]
        }
        while index < words.count {
            let option = words[index]
            switch option {
            case "check": server.check = true
            case "backup": server.backup = true
            case "disabled": server.disabled = true
            case "inter":
                guard let text = value(), let time = TimeParser.parse(text), time > .zero else {
                    state.error(number, "server \(server.name) inter", "needs a time, like 'inter 2s'")
                    return nil
                }
                server.interval = time
            case "rise", "fall", "weight", "maxconn":
                guard let text = value(), let amount = Int(text) else {
                    state.error(number, "server \(server.name) \(option)", "needs a number")
                    return nil
                }
                switch option {
                case "rise", "fall":
                    guard amount >= 1 else {
                        state.error(number, "server \(server.name) \(option)", "must be at least 1")
                        return nil
                    }
                    if option == "rise" { server.rise = amount } else { server.fall = amount }
                case "weight":
                    guard (0...256).contains(amount) else {
                        state.error(number, "server \(server.name) weight", "must be 0-256")
                        return nil
                    }
                    server.weight = amount
                default:
                    guard amount >= 1 else {
                        state.error(number, "server \(server.name) maxconn", "must be at least 1")
                        return nil
                    }
                    server.maxConnections = amount
                }
            case "cookie":
                guard let text = value() else {
                    state.error(number, "server \(server.name) cookie", "needs a value")
                    return nil
                }
                server.cookie = text
            case "slowstart", "maxqueue", "minconn", "port", "addr", "agent-inter", "downinter", "fastinter":
                _ = value()
                state.warn(number, "server \(server.name) \(option)", "ignored: not used by the engine")
            default:
                state.error(
                    number,
                    "server \(server.name) \(option)",
                    "not supported (supported: check, inter, rise, fall, backup, weight, maxconn, disabled, cookie)"
                )
                return nil
            }
            index += 1
        }
        return server
    }
}
