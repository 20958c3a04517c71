/// Reads one `server NAME ADDR:PORT [options]` line. Every option is read even after an error, so all of a
/// line's problems are reported at once.
enum ServerParser {
    static func parse(_ words: [String], _ number: Int, _ state: inout ParserState) -> Server? {
        guard words.count >= 3 else {
            state.error(number, "server", "needs a name and ADDR:PORT, like 'server web1 192.0.2.21:8080 check'")
            return nil
        }
        var valid = true
        var server = Server(name: words[1], line: number, address: "", port: 0)
        if let (address, port) = AddressParser.server(words[2]) {
            server.address = address
            server.port = port
        } else {
            state.error(
                number,
                "server",
                "'\(words[2])' is not ADDR:PORT with an IP address (names are not resolved yet; write the address)"
            )
            valid = false
        }
        let prefix = "server \(server.name)"
        var index = 3
        while index < words.count {
            let option = words[index]
            index += 1
            func value() -> String? {
                guard index < words.count else {
                    state.error(number, "\(prefix) \(option)", "needs a value")
                    valid = false
                    return nil
                }
                index += 1
                return words[index - 1]
            }
            func time() -> Duration? {
                guard let text = value() else { return nil }
                guard let time = state.time(text, number, "\(prefix) \(option)", example: "2s"), time > .zero else {
                    if case .success = TimeParser.parse(text) {
                        state.error(number, "\(prefix) \(option)", "must be more than 0")
                    }
                    valid = false
                    return nil
                }
                return time
            }
            func amount(in range: ClosedRange<Int>) -> Int? {
                guard let text = value() else { return nil }
                guard let amount = Int(text), range.contains(amount) else {
                    state.error(
                        number,
                        "\(prefix) \(option)",
                        "needs a number from \(range.lowerBound) to \(range.upperBound), not '\(text)'"
                    )
                    valid = false
                    return nil
                }
                return amount
            }
            switch option {
            case "check": server.check = true
            case "backup": server.backup = true
            case "disabled": server.disabled = true
            case "inter": server.interval = time() ?? server.interval
            case "fastinter": server.fastInterval = time()
            case "downinter": server.downInterval = time()
            case "rise": server.rise = amount(in: 1...Int(Int32.max)) ?? server.rise
            case "fall": server.fall = amount(in: 1...Int(Int32.max)) ?? server.fall
            case "weight": server.weight = amount(in: 0...256) ?? server.weight
            case "maxconn": server.maxConnections = amount(in: 1...Int(Int32.max))
            case "port": server.checkPort = amount(in: 1...65_535)
            case "addr":
                guard let text = value() else { continue }
                guard AddressParser.isIPv4(text) || AddressParser.isIPv6(text) else {
                    state.error(number, "\(prefix) addr", "'\(text)' is not an IP address")
                    valid = false
                    continue
                }
                server.checkAddress = text
            case "cookie":
                server.cookie = value()
            default:
                switch KeywordTable.entry(option, in: .server)?.support {
                case .noEffect:
                    state.notImplemented(option, .server, number, where: "a server line")
                    _ = value()
                default:
                    state.notImplemented(option, .server, number, where: "a server line")
                    // The rest of the line may be this option's values: stop here.
                    return nil
                }
            }
        }
        return valid ? server : nil
    }
}
