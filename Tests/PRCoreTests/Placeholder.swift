import Testing

@Test func placeholder_PRCoreTests() {}
