// library.ts — an ordinary AssemblyScript program with managed objects, built twice by
// examples/as/runtime.js: on AssemblyScript's incremental runtime (its collector over TLSF) and
// with `--runtime ./node_modules/ralloc-wasm/assembly/runtime/incremental` (the same collector
// over ralloc-wasm). Nothing here names ralloc-wasm: the runtime flag alone differs, and both
// builds print the same lines.
//
// A lending library, day after day: books (class instances) written by authors who list their
// books (references both ways: cycles), titles built from pieces (strings), loans pushed onto
// arrays, a Map from title to book and a Set of the titles out on loan; each evening the day's
// loans are dropped and some books retired, so the collector has work.

@external("example", "print")
declare function print(line: string): void;

class Author {
  books: Book[] = [];
  constructor(public name: string) {}
}

class Book {
  loans: i32 = 0;
  constructor(public title: string, public author: Author) {
    author.books.push(this);
  }
}

const WORDS = ["night", "river", "glass", "winter", "garden", "letters", "salt", "house", "orchard", "stone"];

/** A title made of pieces: a few words and a volume number. */
function titleOf(n: i32): string {
  let s = "The " + WORDS[n % 10];
  if (n % 3) s += " of " + WORDS[(n * 7) % 10];
  return s + ", vol. " + (n % 13 + 1).toString();
}

/** Runs the library for `days` days; prints a line per 50 days and the totals. */
export function main(days: i32): void {
  let authors: Author[] = [];
  for (let i = 0; i < 40; i++) authors.push(new Author("Author " + i.toString()));
  let shelf = new Map<string, Book>();
  let out = new Set<string>();
  let next = 0, retired = 0, lent = 0;
  for (let day = 1; day <= days; day++) {
    for (let k = 0; k < 30; k++, next++) { // new books
      let t = titleOf(next) + " #" + next.toString();
      shelf.set(t, new Book(t, authors[next % 40]));
    }
    let loans: string[] = [];
    let titles = shelf.keys();
    for (let k = 0; k < titles.length; k += 3) { // a third of the shelf goes out for the day
      let t = titles[(k * 7 + day) % titles.length];
      if (out.has(t)) continue;
      out.add(t);
      loans.push(t);
      shelf.get(t).loans++;
      lent++;
    }
    for (let k = 0; k < loans.length; k++) out.delete(loans[k]); // all back in the evening
    for (let k = 0; k < titles.length; k++) { // worn books leave, and their authors forget them
      let b = shelf.get(titles[k]);
      if (b.loans >= 3) {
        shelf.delete(b.title);
        let list = b.author.books;
        list.splice(list.indexOf(b), 1);
        retired++;
      }
    }
    if (day % 50 == 0) print(`day ${day}: ${shelf.size} books on the shelf, ${retired} retired, ${lent} loans`);
  }
  let most = authors[0];
  for (let i = 1; i < authors.length; i++) if (authors[i].books.length > most.books.length) most = authors[i];
  print(`${most.name} has the most books on the shelf: ${most.books.length}`);
}
