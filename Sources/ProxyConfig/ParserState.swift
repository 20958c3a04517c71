/// The parser's state while it reads the file line by line.
struct ParserState {
    let file: String
    let readFile: (String) -> [UInt8]?
    var errors: [ProxyConfigIssue] = []
    var warnings: [ProxyConfigIssue] = []
    var sectionKind: SectionKind?
    var defaults = DefaultSettings()
    var current: ProxySection?
    var sections: [ProxySection] = []
    var globalMaxConnections: Int?
    var globalMaxConnectionsLine: Int?
    var globalThreads: Int?

    init(file: String, readFile: @escaping (String) -> [UInt8]?) {
        self.file = file
        self.readFile = readFile
    }

    mutating func error(_ line: Int, _ keyword: String, _ message: String) {
        errors.append(ProxyConfigIssue(file: file, line: line, keyword: keyword, message: message))
    }

    mutating func warn(_ line: Int, _ keyword: String, _ message: String) {
        warnings.append(ProxyConfigIssue(file: file, line: line, keyword: keyword, message: message))
    }

    /// A keyword the parser does not implement itself: a warning or an error as ``KeywordTable`` says, else
    /// an error naming the docs.
    mutating func notImplemented(_ phrase: String, _ scope: KeywordScope, _ number: Int, where place: String) {
        switch KeywordTable.entry(phrase, in: scope)?.support {
        case .noEffect(let reason):
            warn(number, phrase, "accepted with no effect: \(reason)")
        case .refused(let reason):
            error(number, phrase, "not supported: \(reason)")
        case .honoured, nil:
            error(number, phrase, "not supported in \(place) (docs/proxy-config.md lists the supported keywords)")
        }
    }

    mutating func finishSection() {
        if let current { sections.append(current) }
        current = nil
    }

    /// Reads one line (without its newline).
    mutating func read(_ line: ArraySlice<UInt8>, number: Int) {
        switch ConfigTokenizer.words(line) {
        case .failure(.unterminated):
            let start = String(decoding: line.prefix(20), as: UTF8.self)
            error(number, start, "unterminated quote or trailing backslash")
        case .failure(.environmentVariable(let name)):
            error(
                number,
                "$\(name)",
                "HAProxy expands environment variables in double quotes; the engine does not: write the value, or use single quotes for a literal '$'"
            )
        case .success(let words):
            if !words.isEmpty { self.line(words, number: number) }
        }
    }

    mutating func line(_ words: [String], number: Int) {
        let keyword = words[0]
        if let kind = SectionKind(rawValue: keyword) {
            startSection(kind, words, number)
            return
        }
        switch sectionKind {
        case nil:
            error(number, keyword, "outside any section; start one with global, defaults, frontend, backend or listen")
        case .global:
            globalKeyword(words, number)
        case .defaults:
            defaultsKeyword(words, number)
        case .frontend, .backend, .listen:
            proxyKeyword(words, number)
        }
    }

    private mutating func startSection(_ kind: SectionKind, _ words: [String], _ number: Int) {
        finishSection()
        sectionKind = kind
        switch kind {
        case .global:
            if words.count > 1 { error(number, "global", "takes no name") }
        case .defaults:
            defaults = DefaultSettings()
            if words.count > 2 { error(number, "defaults", "takes at most a name") }
        case .frontend, .backend, .listen:
            guard words.count >= 2 else {
                error(number, kind.rawValue, "needs a name, like '\(kind.rawValue) web'")
                sectionKind = nil
                return
            }
            let name = words[1]
            if !name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.:".contains($0) }) {
                error(number, kind.rawValue, "name '\(name)' may use letters, digits, '-', '_', '.' and ':' only")
            }
            let section = ProxySection(kind: kind, name: name, line: number, settings: defaults)
            if kind == .listen, words.count >= 3 {
                error(
                    number,
                    "listen",
                    "an address after the name is refused by HAProxy 2.6 too: write 'bind \(words[2])' on the next line"
                )
            } else if words.count > 2 {
                error(number, kind.rawValue, "unexpected '\(words[2])' after the name")
            }
            current = section
        }
    }

    private mutating func globalKeyword(_ words: [String], _ number: Int) {
        switch words[0] {
        case "maxconn":
            globalMaxConnections = positiveInt(words, number)
            globalMaxConnectionsLine = number
        case "nbthread":
            if let value = positiveInt(words, number) {
                if value > 64 {
                    error(number, "nbthread", "at most 64 threads")
                } else {
                    globalThreads = value
                }
            }
        case "stats" where words.count > 1:
            notImplemented("stats \(words[1])", .global, number, where: "'global'")
        default:
            notImplemented(words[0], .global, number, where: "'global'")
        }
    }

    private mutating func defaultsKeyword(_ words: [String], _ number: Int) {
        var settings = defaults
        if !commonKeyword(words, number, &settings) {
            notImplemented(words[0], .proxy, number, where: "'defaults'")
        }
        defaults = settings
    }

    mutating func positiveInt(_ words: [String], _ number: Int) -> Int? {
        guard words.count == 2, let value = Int(words[1]), value > 0 else {
            error(number, words[0], "needs one positive number")
            return nil
        }
        return value
    }

    mutating func nonNegativeInt(_ words: [String], _ number: Int) -> Int? {
        guard words.count == 2, let value = Int(words[1]), value >= 0 else {
            error(number, words[0], "needs one number (0 or more)")
            return nil
        }
        return value
    }

    /// A time argument: nil (with the error reported) when it is not a time or exceeds HAProxy's maximum.
    mutating func time(_ text: String, _ number: Int, _ keyword: String, example: String = "5s") -> Duration? {
        switch TimeParser.parse(text) {
        case .success(let value): return value
        case .failure(let failure):
            error(number, keyword, TimeParser.explain(failure, text, example: example))
            return nil
        }
    }
}
