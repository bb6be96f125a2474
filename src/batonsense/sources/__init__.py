"""Where samples come from: live BLE sensors (`ble`) and virtual ones (`virtual`).

`virtual` runs sensor firmware as bumble peripherals on an in-process radio
(no Bluetooth hardware); `ble` drives real or virtual sensors through bleak's
public API, so the same ingestion code serves both.
"""
