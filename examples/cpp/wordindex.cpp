// wordindex: reads text on stdin and prints the most frequent words with the lines they occur on.
//
//   wordindex [N]     the N most frequent words (default 10; 0 for all)
//
// The C++ library allocates through malloc: std::string for each word, a std::map from word to a
// std::vector of line numbers, an Entry made with new for each word (deleted at the end), and a
// line buffer made with new[] that doubles with the longest line (deleted with delete[]).
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <map>
#include <string>
#include <vector>

struct Entry {
    std::string word;
    std::vector<int> lines;
};

// Reads one line into buf (grown with new[] / delete[]); false at the end of input.
static bool read_line(char *&buf, size_t &cap) {
    size_t len = 0;
    int c;
    while ((c = std::getchar()) != EOF && c != '\n') {
        if (len + 1 >= cap) {
            char *bigger = new char[cap * 2];
            std::memcpy(bigger, buf, len);
            delete[] buf;
            buf = bigger;
            cap *= 2;
        }
        buf[len++] = static_cast<char>(c);
    }
    buf[len] = '\0';
    return c != EOF || len > 0;
}

int main(int argc, char **argv) {
    long top = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 10;
    std::map<std::string, std::vector<int>> index;
    size_t cap = 16;
    char *buf = new char[cap];
    int lineno = 0;
    while (read_line(buf, cap)) {
        ++lineno;
        std::string word;
        for (const char *p = buf;; ++p) {
            unsigned char c = static_cast<unsigned char>(*p);
            if (c != 0 && (std::isalnum(c) || c == '\'')) {
                word += static_cast<char>(std::tolower(c));
            } else {
                if (!word.empty()) {
                    std::vector<int> &lines = index[word];
                    if (lines.empty() || lines.back() != lineno) lines.push_back(lineno);
                    word.clear();
                }
                if (c == 0) break;
            }
        }
    }
    delete[] buf;

    std::vector<Entry *> entries;
    for (const auto &kv : index) entries.push_back(new Entry{kv.first, kv.second});
    std::stable_sort(entries.begin(), entries.end(), [](const Entry *a, const Entry *b) {
        return a->lines.size() > b->lines.size();
    });
    std::cout << lineno << " lines, " << entries.size() << " distinct words\n";
    size_t shown = top <= 0 || static_cast<size_t>(top) > entries.size() ? entries.size() : static_cast<size_t>(top);
    for (size_t i = 0; i < shown; i++) {
        const Entry *e = entries[i];
        std::cout << e->word << " (" << e->lines.size() << " lines):";
        for (size_t k = 0; k < e->lines.size() && k < 8; k++) std::cout << ' ' << e->lines[k];
        if (e->lines.size() > 8) std::cout << " ...";
        std::cout << '\n';
    }
    for (Entry *e : entries) delete e;
    return 0;
}
