// What the reader of bacula-sd.conf says when it cannot read a configuration: one line, `file:line: what`,
// the way Bacula's own scanner names the place (the file as it was named, 1-based line numbers).

/// A configuration the reader refuses, with the place it refuses it.
public struct BaculaConfigError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file as it was given or as the `@` include named it (relative include paths stay relative).
    public var file: String
    /// 1-based line in `file`; 0 when the file itself could not be read.
    public var line: Int
    /// What is wrong, without the place.
    public var message: String

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    /// `file:line: message`, or `file: message` when there is no line.
    public var description: String {
        line > 0 ? "\(file):\(line): \(message)" : "\(file): \(message)"
    }
}
