import Console
import Testing

@Suite struct RenderBenchmarkTests {
    /// Runs the benchmark small, checking its figures are measured; the
    /// numbers worth reading come from a release build (`swift test -c release`).
    @Test func measuresFrames() throws {
        let figures = try RenderBenchmark.run(width: 200, height: 60, failures: 500, frames: 20)
        print(figures)
        #expect(figures.frames == 20)
        #expect(figures.medianMicroseconds > 0)
        #expect(figures.p99Microseconds >= figures.medianMicroseconds)
        #expect(figures.coldMicroseconds > 0)
    }
}
