import Foundation

/// A diffusers `config.json` or `scheduler_config.json`: typed reads with
/// the class's defaults for absent keys, as `from_config` fills them, and an
/// error naming the key for a value of the wrong type or an option this
/// implementation does not have.
public struct DiffusersConfig {
    public let values: [String: Any]
    /// Where messages say the config came from.
    public let name: String

    public init(values: [String: Any], name: String) {
        self.values = values; self.name = name
    }

    public static func load(_ url: URL) throws -> DiffusersConfig {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw UnclipError.model("\(url.deletingLastPathComponent().path): no \(url.lastPathComponent)")
        }
        return try parse(data, name: url.path)
    }

    public static func parse(_ data: Data, name: String) throws -> DiffusersConfig {
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw UnclipError.model("\(name): not a JSON object")
        }
        return DiffusersConfig(values: root, name: name)
    }

    public var className: String? { values["_class_name"] as? String }

    func has(_ key: String) -> Bool { values[key] != nil && !(values[key] is NSNull) }

    public func int(_ key: String, _ def: Int? = nil) throws -> Int {
        guard has(key) else {
            if let def { return def }
            throw UnclipError.model("\(name): \(key) is missing")
        }
        guard let n = values[key] as? NSNumber, Double(n.intValue) == n.doubleValue else {
            throw UnclipError.model("\(name): \(key) must be an integer, found \(values[key]!)")
        }
        return n.intValue
    }

    public func positiveInt(_ key: String, _ def: Int? = nil) throws -> Int {
        let n = try int(key, def)
        guard n > 0 else { throw UnclipError.model("\(name): \(key) must be positive, found \(n)") }
        return n
    }

    /// Present and not null.
    public func optionalInt(_ key: String) throws -> Int? { has(key) ? try int(key) : nil }

    public func double(_ key: String, _ def: Double) throws -> Double {
        guard has(key) else { return def }
        guard let n = values[key] as? NSNumber else {
            throw UnclipError.model("\(name): \(key) must be a number, found \(values[key]!)")
        }
        return n.doubleValue
    }

    public func bool(_ key: String, _ def: Bool) throws -> Bool {
        guard has(key) else { return def }
        guard let b = values[key] as? Bool else { throw UnclipError.model("\(name): \(key) must be true or false, found \(values[key]!)") }
        return b
    }

    public func string(_ key: String, _ def: String?) throws -> String? {
        guard has(key) else { return def }
        guard let s = values[key] as? String else { throw UnclipError.model("\(name): \(key) must be a string, found \(values[key]!)") }
        return s
    }

    /// A string option that must be one of `supported` (nil meaning the key is absent or null).
    public func option(_ key: String, _ def: String?, supported: [String?]) throws -> String? {
        let v = try string(key, def)
        guard supported.contains(where: { $0 == v }) else {
            let list = supported.map { $0.map { "\"\($0)\"" } ?? "null" }.joined(separator: ", ")
            throw UnclipError.model("\(name): \(key) \(v.map { "\"\($0)\"" } ?? "null") is not supported (supported: \(list))")
        }
        return v
    }

    public func strings(_ key: String) throws -> [String] {
        guard let a = values[key] as? [Any], let s = a as? [String] else {
            throw UnclipError.model("\(name): \(key) must be a list of strings")
        }
        return s
    }

    /// A list of block class names, each one of `T`'s cases; `what` names the list in messages ("down block").
    public func blockTypes<T: RawRepresentable & CaseIterable>(_ key: String, _ what: String) throws -> [T] where T.RawValue == String {
        try strings(key).map { s in
            guard let b = T(rawValue: s) else {
                throw UnclipError.model("\(name): \(what) type \"\(s)\" is not supported (\(T.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return b
        }
    }

    /// An int, or a list of ints of length `count` (diffusers accepts both for per-level sizes).
    public func ints(_ key: String, count: Int, _ def: Int? = nil) throws -> [Int] {
        if let a = values[key] as? [Any] {
            let xs = a.compactMap { ($0 as? NSNumber)?.intValue }
            guard xs.count == a.count, xs.count == count, xs.allSatisfy({ $0 > 0 }) else {
                throw UnclipError.model("\(name): \(key) must be \(count) positive integers")
            }
            return xs
        }
        return [Int](repeating: try positiveInt(key, def), count: count)
    }

    public func intList(_ key: String) throws -> [Int] {
        guard let a = values[key] as? [Any] else { throw UnclipError.model("\(name): \(key) must be a list of integers") }
        let xs = a.compactMap { ($0 as? NSNumber)?.intValue }
        guard xs.count == a.count, !xs.isEmpty, xs.allSatisfy({ $0 > 0 }) else {
            throw UnclipError.model("\(name): \(key) must be a list of positive integers")
        }
        return xs
    }

    /// A key that must hold its default (`nil`: absent or null) because no other value is implemented.
    public func require(_ key: String, is expected: Any?) throws {
        let v = values[key]
        let isDefault: Bool
        switch (v, expected) {
        case (nil, _), (is NSNull, _): isDefault = true   // absent: the class default, which `expected` is
        case let (b as Bool, e as Bool): isDefault = b == e
        case let (n as NSNumber, e as Double): isDefault = n.doubleValue == e
        case let (n as NSNumber, e as Int): isDefault = n.doubleValue == Double(e)
        case let (s as String, e as String): isDefault = s == e
        default: isDefault = false
        }
        guard isDefault else {
            throw UnclipError.model("\(name): \(key) = \(v.map { "\($0)" } ?? "null") is not supported (only \(expected.map { "\($0)" } ?? "null"))")
        }
    }
}
