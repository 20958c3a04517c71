extension KeywordTable {
    /// The table as docs/proxy-config.md holds it (between its `keywords:begin`/`keywords:end` markers).
    public static var markdown: String {
        var text = "| keyword | where | the engine | example or reason |\n|---|---|---|---|\n"
        for entry in entries {
            let place: String
            switch entry.scope {
            case .global: place = "global"
            case .proxy: place = "defaults, frontend, backend, listen"
            case .server: place = "server option"
            case .bind: place = "bind option"
            }
            let (verdict, detail): (String, String)
            switch entry.support {
            case .honoured: (verdict, detail) = ("as HAProxy", "`\(entry.example)`")
            case .noEffect(let reason): (verdict, detail) = ("warning, no effect", reason)
            case .refused(let reason): (verdict, detail) = ("**error**", reason)
            }
            let cell = detail.replacingPipes()
            text += "| `\(entry.phrase)` | \(place) | \(verdict) | \(cell) |\n"
        }
        return text
    }
}

extension String {
    fileprivate func replacingPipes() -> String {
        var result = ""
        for character in self { result += character == "|" ? "\\|" : String(character) }
        return result
    }
}
