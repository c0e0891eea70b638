/// Counts as reports print them: `101,110`, `19,910`. One place, so `up`, `status`, `doctor`,
/// the model check's first line and `verify`'s progress all group digits alike.
public enum NumberText {
    /// `2340` → `2,340`; `-1234` → `-1,234`.
    public static func grouped(_ number: Int) -> String {
        let digits = Array(String(number.magnitude))
        var text = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { text.append(",") }
            text.append(digit)
        }
        return number < 0 ? "-" + text : text
    }
}
