// SPDX-License-Identifier: GPL-2.0
/*
 * libmany.so: 10000 exported functions, many_10000 to many_19999, each
 * `return x + N` (its own N: no two are folded), and many_all(x), which
 * calls each of them once and returns the sum: the library of the scale
 * test (uprobes/scale: a probe on every function, hit in 50 processes).
 * Protected: exported (in .dynsym) but called directly, not through the
 * PLT, so that no process resolves 10000 symbols at run time.
 */
#define F(n) __attribute__((noinline, used, visibility("protected"))) int many_##n(int x) { return x + n; }
#define F10(n) F(n##0) F(n##1) F(n##2) F(n##3) F(n##4) F(n##5) F(n##6) F(n##7) F(n##8) F(n##9)
#define F100(n) F10(n##0) F10(n##1) F10(n##2) F10(n##3) F10(n##4) \
	F10(n##5) F10(n##6) F10(n##7) F10(n##8) F10(n##9)
#define F1000(n) F100(n##0) F100(n##1) F100(n##2) F100(n##3) F100(n##4) \
	F100(n##5) F100(n##6) F100(n##7) F100(n##8) F100(n##9)
#define F10000(n) F1000(n##0) F1000(n##1) F1000(n##2) F1000(n##3) F1000(n##4) \
	F1000(n##5) F1000(n##6) F1000(n##7) F1000(n##8) F1000(n##9)

F10000(1)

#define C(n) s += many_##n(x);
#define C10(n) C(n##0) C(n##1) C(n##2) C(n##3) C(n##4) C(n##5) C(n##6) C(n##7) C(n##8) C(n##9)
#define C100(n) C10(n##0) C10(n##1) C10(n##2) C10(n##3) C10(n##4) \
	C10(n##5) C10(n##6) C10(n##7) C10(n##8) C10(n##9)
#define C1000(n) C100(n##0) C100(n##1) C100(n##2) C100(n##3) C100(n##4) \
	C100(n##5) C100(n##6) C100(n##7) C100(n##8) C100(n##9)
#define C10000(n) C1000(n##0) C1000(n##1) C1000(n##2) C1000(n##3) C1000(n##4) \
	C1000(n##5) C1000(n##6) C1000(n##7) C1000(n##8) C1000(n##9)

long many_all(int x)
{
	long s = 0;

	C10000(1)
	return s;
}
