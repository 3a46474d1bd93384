/// "Did you mean": the name a word was probably meant to be, for a command (`lcok` -> `lock`) or a
/// setting of the configuration file (`max_lock_wiat` -> `max_lock_wait`).
enum Suggestion {
    /// The command `word` was probably meant to be. A DEVICE-looking word (a digit, a `/` or a `.`:
    /// `drive1`, `sg0`, `./tape`) is no typo of a command, whose names have none: nil.
    static func command(for word: String, among names: [String]) -> String? {
        if word.contains(where: { $0.isNumber || $0 == "/" || $0 == "." }) { return nil }
        return closest(to: word, among: names)
    }

    /// The name in `names` one typo away from `word` (a letter wrong, missing, extra, or two
    /// swapped), two for names longer than 5; nil when nothing is that close.
    static func closest(to word: String, among names: [String]) -> String? {
        let typed = Array(word.lowercased().unicodeScalars)
        guard typed.count <= 32 else { return nil }
        var best: (name: String, distance: Int)? = nil
        for name in names {
            let d = editDistance(typed, Array(name.unicodeScalars))
            if d <= (name.count > 5 ? 2 : 1), d < (best?.distance ?? .max) { best = (name, d) }
        }
        return best?.name
    }

    /// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
    /// neighbours each cost 1.
    static func editDistance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }
}
