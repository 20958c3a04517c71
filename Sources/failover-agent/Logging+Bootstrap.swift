import FailoverAgent
import Logging

/// Sends every log line to stderr in journald style (`JournalLogHandler`) and returns the process's logger.
func bootstrapLogging(level text: String, label: String) -> Logger {
    let level = Logger.Level(rawValue: text) ?? .info
    LoggingSystem.bootstrap { _ in JournalLogHandler(level: level) }
    return Logger(label: label)
}
