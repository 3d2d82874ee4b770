// Test-mode firmware for the wheelchair-controller PCB: answers flashline's line protocol.
// One command per line in, one reply per line out: "OK [value] [unit]" or "ERR <reason>".
#include "Particle.h"

SYSTEM_MODE(MANUAL);          // no cloud: the fixture has no network, and tests must be quick
SYSTEM_THREAD(ENABLED);

namespace {

// ADC: 12 bits over 3.3 V. Divider ratios match the fixture's resistors.
const float ADC_VOLTS = 3.3f / 4095.0f;
const float VIN_DIVIDER = 4.0f;     // 30k over 10k
const float RAIL_DIVIDER = 2.0f;    // 10k over 10k
const int AVERAGE = 16;             // readings averaged per measurement

String line;

float volts(int pin, float divider) {
    long sum = 0;
    for (int i = 0; i < AVERAGE; i++) {
        sum += analogRead(pin);
    }
    return (float)sum / AVERAGE * ADC_VOLTS * divider;
}

// Each output drives its jumpered input high, then low; both must follow.
bool loopback(int out, int in) {
    pinMode(out, OUTPUT);
    pinMode(in, INPUT_PULLDOWN);
    digitalWrite(out, HIGH);
    delay(2);
    bool high = digitalRead(in) == HIGH;
    digitalWrite(out, LOW);
    delay(2);
    bool low = digitalRead(in) == LOW;
    pinMode(out, INPUT);
    return high && low;
}

void reply(const String& text) {
    Serial.println(text);
}

void handle(const String& cmd) {
    if (cmd == "MEAS VIN") {
        reply(String::format("OK %.2f V", volts(A0, VIN_DIVIDER)));
    } else if (cmd == "MEAS 3V3") {
        reply(String::format("OK %.2f V", volts(A1, RAIL_DIVIDER)));
    } else if (cmd == "GPIO LOOP") {
        if (loopback(D2, D3) && loopback(D4, D5)) {
            reply("OK");
        } else {
            reply("ERR loopback open");
        }
    } else if (cmd.startsWith("I2C PROBE ")) {
        int address = (int)strtol(cmd.substring(10).c_str(), nullptr, 0);
        Wire.beginTransmission(address);
        if (Wire.endTransmission() == 0) {
            reply(String::format("OK 0x%02x", address));
        } else {
            reply("ERR no ack");
        }
    } else if (cmd.startsWith("PWM ")) {
        int duty = cmd.substring(4).toInt();
        if (duty < 0 || duty > 100) {
            reply("ERR duty out of range");
            return;
        }
        analogWrite(D6, duty * 255 / 100);
        delay(50);                                   // let the RC filter settle
        float measured = volts(A2, 1.0f) / 3.3f * 100.0f;
        analogWrite(D6, 0);
        reply(String::format("OK %.1f %%", measured));
    } else {
        reply("ERR unknown command");
    }
}

}  // namespace

void setup() {
    Serial.begin(115200);
    Wire.begin();
    waitFor(Serial.isConnected, 10000);
    Serial.println("READY");
}

void loop() {
    while (Serial.available() > 0) {
        char c = (char)Serial.read();
        if (c == '\n') {
            line.trim();
            if (line.length() > 0) {
                handle(line);
            }
            line = "";
        } else if (line.length() < 256) {       // the station never sends longer lines
            line += c;
        }
    }
}
