import json, re, collections, sqlite3, xml.dom.minidom, decimal, difflib, csv, io
d = [dict(a=i, b=str(i)*3, c=[i]*5) for i in range(20000)]
s = json.dumps(d); json.loads(s)
db = sqlite3.connect(':memory:'); db.execute('create table t(a,b)'); db.executemany('insert into t values(?,?)', [(i, str(i)) for i in range(20000)])
list(db.execute('select b, count(*) from t group by a % 100'))
x = xml.dom.minidom.parseString('<r>' + ''.join('<e k="%d">%d</e>' % (i, i) for i in range(5000)) + '</r>')
sum(decimal.Decimal(i) / 7 for i in range(20000)); list(difflib.unified_diff(s[:3000].split(','), s[100:3100].split(',')))
w = io.StringIO(); csv.writer(w).writerows([[i, str(i)] for i in range(10000)]); re.findall(r'\d+', s[:100000])
print("ok")
