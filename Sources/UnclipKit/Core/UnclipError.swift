import Foundation

/// Every failure the engine reports. The executable maps `.usage` to exit 64
/// (EX_USAGE, as sysexits(3) and netpbm do) and everything else to exit 1, and
/// prints `description` as the single line on stderr.
public enum UnclipError: Error, CustomStringConvertible, Equatable {
    /// The command line asked for something impossible (bad option values,
    /// a mask of the wrong size, a missing required input).
    case usage(String)
    /// The input is of the wrong kind, damaged, or too large.
    case badInput(String)
    /// Reading or writing a file failed at the operating-system level.
    case io(String)
    /// A model directory or checkpoint is missing or inconsistent.
    case model(String)
    /// Anything else that stopped the work.
    case failure(String)

    public var description: String {
        switch self {
        case .usage(let m), .badInput(let m), .io(let m), .model(let m), .failure(let m): return m
        }
    }

    public var isUsage: Bool {
        if case .usage = self { return true }
        return false
    }
}
