import Foundation
import LabPlan
import LabRuntime
import Synchronization

/// The line `lab up` and `lab down` rewrite in place while they work, once they have run for a
/// second: `up demo: links 4,120/9,204 changes · 1.4 s`. Drawn on stdout only when it is a
/// terminal, and erased before anything else is printed, so a pipe or a log file gets exactly
/// the output it always got.
final class ProgressLine: Sendable {
    /// Seconds before the line appears; `LAB_PROGRESS_AFTER` overrides it so tests need no slow
    /// lab (with 0, the line is also redrawn every 5 ms instead of 100, so a lab that is up in
    /// 50 ms still shows its phases). Not a user feature, like `LAB_INJECT_FAULT`.
    static var delay: Double {
        ProcessInfo.processInfo.environment["LAB_PROGRESS_AFTER"].flatMap(Double.init) ?? 1
    }

    private let verb: String
    private let started = DispatchTime.now()
    private let delay: Double
    private let progress: UpDownProgress
    /// Whether a line is on the screen now (to erase), and whether `stop` was called.
    private let screen = Mutex((drawn: false, stopped: false))
    private let wake = DispatchSemaphore(value: 0)
    private let exited = DispatchSemaphore(value: 0)

    private init(verb: String, delay: Double, progress: UpDownProgress) {
        self.verb = verb
        self.delay = delay
        self.progress = progress
    }

    /// Starts the line's timer, or returns nil when stdout is not a terminal. Call after
    /// `Interruption.deferSignals`, so the timer thread never takes a Ctrl-C meant for `up`.
    /// `lab`: the lab, when the command knows it before it starts (`down`). With no delay the
    /// first line is then drawn before this returns, so even a run of a few milliseconds
    /// shows one.
    static func start(verb: String, lab: String? = nil, progress: UpDownProgress = .shared) -> ProgressLine? {
        progress.reset()
        if let lab { progress.setLab(lab) }
        guard isatty(STDOUT_FILENO) == 1 else { return nil }
        let line = ProgressLine(verb: verb, delay: delay, progress: progress)
        if delay == 0 { line.draw(seconds: 0) }
        Thread { line.run() }.start()
        return line
    }

    /// Erases the line (if drawn) and ends the timer; nothing is drawn afterwards.
    func stop() {
        screen.withLock { screen in
            if screen.drawn { ProgressLine.write("\r\u{1B}[K") }
            screen = (false, true)
        }
        wake.signal()
        exited.wait()
    }

    /// Runs `body` (which prints a message) with the line erased; the next tick draws it again.
    func interject(_ body: () -> Void) {
        screen.withLock { screen in
            if screen.drawn { ProgressLine.write("\r\u{1B}[K") }
            screen.drawn = false
            body()
        }
    }

    private func run() {
        defer { exited.signal() }
        // Until the delay is over, then ten times a second.
        var next = started + delay
        while wake.wait(timeout: next) == .timedOut {
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
            next = .now() + (delay == 0 ? 0.005 : 0.1)
            draw(seconds: elapsed)
        }
    }

    /// Draws the line as the progress stands; nothing before the lab is known (`up` reads it
    /// from the file first) or after `stop`.
    private func draw(seconds: Double) {
        let snapshot = progress.snapshot()
        guard snapshot?.lab != nil else { return }
        let text = ProgressLine.text(verb: verb, snapshot: snapshot, seconds: seconds)
        screen.withLock { screen in
            guard !screen.stopped else { return }
            ProgressLine.write("\r\u{1B}[K" + ProgressLine.fitted(text, columns: ProgressLine.columns()))
            screen.drawn = true
        }
    }

    /// `up demo: links 4,120/9,204 changes · 1.4 s` (pure, for tests).
    static func text(verb: String, snapshot: UpDownProgress.Snapshot?, seconds: Double) -> String {
        var line = verb
        if let lab = snapshot?.lab { line += " \(lab)" }
        if let snapshot, !snapshot.phase.isEmpty {
            line += ": \(snapshot.phase)"
            if snapshot.total > 0 {
                line += " \(NumberText.grouped(min(snapshot.done, snapshot.total)))/\(NumberText.grouped(snapshot.total))"
                if !snapshot.unit.isEmpty { line += " \(snapshot.unit)" }
            }
        }
        return line + " · " + String(format: "%.1f s", seconds)
    }

    /// Cut to one screen line: a line that wraps can no longer be rewritten in place.
    static func fitted(_ text: String, columns: Int) -> String {
        text.count < columns ? text : String(text.prefix(max(0, columns - 1)))
    }

    private static func columns() -> Int {
        var size = winsize()
        guard ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    /// Straight to the descriptor: the line has no newline, and stdio would hold it back.
    private static func write(_ text: String) {
        fflush(nil)
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { raw in _ = Glibc.write(STDOUT_FILENO, raw.baseAddress, raw.count) }
    }
}
