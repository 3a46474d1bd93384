import Testing

@Test func placeholder_TransportsTests() {}
