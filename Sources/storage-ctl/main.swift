print("storage-ctl")
