#!/usr/bin/env python3
"""Writes about SIZE_MB megabytes of HL7 v2 messages for bench/hl7.sh: PCD-01 device data
(ORU^R01 with 20 OBX), PCD-03 orders (RGV^O15) and PCD-10 infusion events (ORU^R42), in
the shape of the IHE PCD TF examples, CR segment ends, invented patients. Deterministic."""
import random
import sys

size_mb, out = float(sys.argv[1]), sys.argv[2]
rng = random.Random(7)
target = int(size_mb * 1_000_000)
drugs = [("1234", "Dopamine"), ("5678", "Normal Saline"), ("4321", "Heparin"), ("8765", "Insulin Regular")]
names = ["Doe^John", "Roe^Jane", "Hon^Amy", "M\\S\\ller^Jos\\E\\", "Brooks^Charles"]


def msh(kind, n, profile):
    return (f"MSH|^~\\&|PUMPSRV^0012210000000001^EUI-64|PUMPVENDOR|EHR|HOSP|20261129{n % 240000:06d}-0500||{kind}|"
            f"{n}|P|2.6|||AL|NE||UNICODE UTF-8|en^English^ISO639||{profile}^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO\r")


def pid(n):
    return f"PID|||HO{n:07d}^^^HOSP^MR||{rng.choice(names)}^^^^L||19610301|F\rPV1||I|3 West ICU^{n % 40}^1\r"


def pcd01(n):
    s = msh("ORU^R01^ORU_R01", n, "IHE_PCD_001") + pid(n)
    s += f"OBR|1|{n}^PUMPSRV^0012210000000001^EUI-64|{n}^PUMPSRV^0012210000000001^EUI-64|69985^MDC_DEV_PUMP_INFUS_MDS^MDC|||20261129120000-0500\r"
    for i in range(1, 21):
        v = round(rng.uniform(0, 500), 1)
        s += (f"OBX|{i}|NM|157784^MDC_FLOW_FLUID_PUMP^MDC|1.1.2.{i}|{v}|265266^MDC_DIM_MILLI_L_PER_HR^MDC^mL/h^mL/h^UCUM|||||R|||"
              f"20261129120000-0500||||E{n % 997:04d}^^0012210000{n % 997:06d}^EUI-64\r")
    return s


def pcd03(n):
    code, drug = rng.choice(drugs)
    rate = round(rng.uniform(1, 30), 1)
    return (msh("RGV^O15^RGV_O15", n, "IHE_PCD_PIV_001") + pid(n) + f"ORC|NW|{n}|||||||||||||||||N0001\r"
            f"RXG|1|||{code}^{drug}|250||263762^MDC_DIM_MILLI_L^MDC^mL^mL^UCUM||||||||{rate}|3475^ug/kg/min^UCUM^265619^MDC_DIM_MICRO_G_PER_KG_PER_MIN^MDC|400|1746^mg^UCUM^263890^MDC_DIM_MILLI_G^MDC|||||250|263762^MDC_DIM_MILLI_L^MDC^mL^mL^UCUM\r"
            f"RXR|IV||IVP|IV\rOBX|1||69986^MDC_DEV_PUMP_INFUS_VMD^MDC|1.1.0.0|||||||X|||||||^^A{n % 997:04d}^PUMPVENDOR\r"
            f"OBX|2|NM|68063^MDC_ATTR_PT_WEIGHT^MDC|1.0.0.1|{rng.randint(40, 120)}.0|263875^MDC_DIM_KILO_G^MDC^kg^kg^UCUM|||||R\r")


def pcd10(n):
    s = msh("ORU^R42^ORU_R01", n, "IHE_PCD_010") + pid(n) + f"OBR|1|AB{n}^PCD-03|CD{n}^HL7^ACDE48234567ABCD^EUI-64|2222^Dopamine|||20261129120000-0500\r"
    s += "OBX|1||70049^MDC_DEV_PUMP_INFUS_LVP_MDS^MDC|1.0.0.0|||||||X|||||N0002||E0002^^0012210000000000^EUI-64\r"
    s += "OBX|2|CWE|68487^MDC_ATTR_EVT_COND^MDC|1.0.0.2|197288^MDC_EVT_PUMP_DELIV_START^MDC||||||R\r"
    s += "OBX|3|NM|157924^MDC_RATE_DOSE^MDC|1.1.2.5|5.00|265619^MDC_DIM_MICRO_G_PER_KG_PER_MIN^MDC^ug/kg/min^ug/kg/min^UCUM|||||R\r"
    s += "OBX|4|ST|184514^MDC_DRUG_NAME_LABEL^MDC|1.1.2.10|Dopamine||||||R\r"
    return s


written = 0
n = 0
with open(out, "w", newline="") as f:
    while written < target:
        n += 1
        m = (pcd01, pcd03, pcd10)[n % 3](n)
        f.write(m)
        written += len(m)
print(n)
