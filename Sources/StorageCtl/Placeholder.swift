public enum StorageCtlPlaceholder {}
