#if canImport(Glibc)
import Glibc
#endif

#if FUZZING
import CFuzzing

/// The target libFuzzer drives, chosen by `FUZZ_TARGET` (scripts/fuzz.sh sets it).
let fuzzTarget: FuzzTarget = {
    let name = getenv("FUZZ_TARGET").map { String(cString: $0) } ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        fatalError("FUZZ_TARGET must be one of \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return target
}()

/// One input, from libFuzzer.
func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    fuzzTarget.run(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

/// The program's entry point under SwiftPM's name for it: hands over to libFuzzer's driver.
@_cdecl("failover_fuzz_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var count = argc
    var vector = argv
    return LLVMFuzzerRunDriver(&count, &vector) { data, size in fuzzOneInput(data, size) }
}
#else
import FailoverWire

/// `failover-fuzz replay TARGET FILE...`: runs each file through the target (a crash is a failure).
@main
struct FuzzReplay {
    static func main() {
        let arguments = CommandLine.arguments.dropFirst()
        if arguments.count == 2, arguments.first == "seeds" {
            writeSeeds(into: arguments.last!)
            return
        }
        guard arguments.count >= 2, arguments.first == "replay",
            let target = FuzzTarget(rawValue: arguments.dropFirst().first!)
        else {
            print(
                "usage: failover-fuzz replay TARGET FILE...  (targets: "
                    + "\(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")); fuzzing: scripts/fuzz.sh"
            )
            exit(64)
        }
        var count = 0
        for path in arguments.dropFirst(2) {
            guard let file = fopen(path, "rb") else {
                print("cannot read \(path)")
                exit(1)
            }
            var bytes: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let read = fread(&buffer, 1, buffer.count, file)
                if read <= 0 { break }
                bytes.append(contentsOf: buffer[0..<read])
            }
            fclose(file)
            target.run(bytes)
            count += 1
        }
        print("\(target.rawValue): \(count) inputs replayed, none crashed")
    }

    /// `failover-fuzz seeds DIR`: writes valid inputs for each target to DIR/TARGET/ (the committed seed
    /// corpora in Fuzz/corpus were made with it).
    static func writeSeeds(into directory: String) {
        var seeds: [FuzzTarget: [[UInt8]]] = [:]
        let message = Message(
            sender: NodeName("lb1")!,
            term: 3,
            role: .primary,
            priority: 150,
            flags: [.engineReady, .holdsVIP, .witnessOK],
            config: ConfigStamp(generation: 2, hash: Array(repeating: 7, count: 32)),
            body: .heartbeat(HeartbeatTiming(sentAt: 1))
        )
        var sealer = DatagramSealer(
            keyring: FuzzTarget.keyring,
            bootID: 99,
            advertisement: ProtocolAdvertisement(versions: 1...2, capabilities: .thisBuild, product: "fuzz")
        )
        seeds[.datagram] = [sealer.seal(message, version: 1), sealer.seal(message), sealer.seal(message)]
        let server = SyncServerSession(keyring: FuzzTarget.keyring, nonce: Array(repeating: 2, count: 16))
        let bundle = ConfigBundle(files: [Array("listen web :80\n".utf8), Array("x".utf8)])
        let offer = SyncOffer(stamp: ConfigStamp(generation: 2, hash: bundle.hash), bundle: bundle, ancestors: [])
        seeds[.sync] = [server.hello(), server.hello() + server.response(offer).flatMap { $0 }]
        seeds[.toml] = [
            Array(
                """
                [node]
                name = "lb1"
                priority = 150
                [cluster]
                key_file = "/etc/failover-agent/cluster.key"
                [[cluster.link]]
                local = "192.0.2.11"
                peer = "192.0.2.12"
                [[vip]]
                address = "192.0.2.100/24"
                interface = "eth0"
                [engine]
                config = "/etc/failover-agent/proxy.cfg"
                sync_limit = "16MiB"

                """.utf8
            )
        ]
        seeds[.proxyconfig] = [
            Array(
                """
                global
                    nbthread 2
                defaults
                    mode http
                    timeout connect 2s
                frontend web
                    bind :80
                    acl api path_beg -i /api
                    use_backend api if api
                    default_backend app
                backend app
                    balance roundrobin
                    option httpchk GET /health
                    cookie SRV insert indirect nocache
                    server a 127.0.0.1:8080 check inter 2s rise 2 fall 3 cookie a
                    server b 127.0.0.1:8081 check backup
                backend api
                    server c 127.0.0.1:8082
                listen stats
                    bind 127.0.0.1:8404
                    mode http
                    stats uri /stats

                """.utf8
            )
        ]
        seeds[.httphead] = [
            "GET / HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: curl/7.88\r\nAccept: */*\r\n\r\n",
            "POST /api/v1/items?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: keep-alive, X-Trace\r\n"
                + "X-Trace: 1\r\nCookie: SRV=a; session=42\r\n\r\nhello",
            "PUT /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"
                + "5\r\nhello\r\n0\r\n\r\n",
            "GET /a HTTP/1.0\r\n\r\nGET /b HTTP/1.1\r\nHost: b\r\nTE: trailers\r\nUpgrade: websocket\r\n\r\n",
            "HEAD /x HTTP/1.1\r\nHost: [2001:db8::100]:8080\r\nX-Forwarded-For: 10.0.0.1\r\n"
                + "Proxy-Authorization: Basic eA==\r\n\r\n",
        ].map { Array($0.utf8) }
        for (target, inputs) in seeds {
            let folder = "\(directory)/\(target.rawValue)"
            mkdir(folder, 0o755)
            for (index, input) in inputs.enumerated() {
                guard let file = fopen("\(folder)/seed-\(index)", "wb") else { continue }
                _ = input.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, file) }
                fclose(file)
            }
        }
    }
}
#endif
