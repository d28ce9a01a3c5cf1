# Makes Jekyll's duplicate check in Site#each_site_file linear in the number of files.
#
# Jekyll 4.3's lib/jekyll/site.rb, Site#each_site_file, keeps the items it has yielded
# in an array and asks `seen_files.include?(item)` for each new one, so every page,
# static file and post is compared with every one before it: the cost grows with the
# square of the post count (5,000 posts: 11 s in CLEANUP and 23 s in WRITE). It runs in
# the cleaner (CLEANUP), in `jekyll doctor`'s conflicting_urls and in Site#write.
# This replaces it with a Hash keyed by identity: the same items, in the same order.
# (Pages and static files compare by identity; a post's <=> compares its date and path,
# which two distinct posts never share, so identity gives the same answer.)
#
# GitHub Pages' safe mode ignores _plugins: the site still builds there, as slowly as
# Jekyll itself. The patch applies only to Jekyll 4.3.x, whose code it was checked
# against (Debian's 4.3.1); any other version keeps its own method.
require "jekyll"

if Gem::Version.new(Jekyll::VERSION) >= Gem::Version.new("4.3") &&
   Gem::Version.new(Jekyll::VERSION) < Gem::Version.new("4.4")
  module Jekyll
    class Site
      def each_site_file
        seen_files = {}.compare_by_identity
        %w(pages static_files_to_write docs_to_write).each do |type|
          send(type).each do |item|
            next if seen_files.key?(item)

            yield item
            seen_files[item] = true
          end
        end
      end

    end
  end
  Jekyll.logger.debug "Linear site files:", "Site#each_site_file keyed by identity (Jekyll #{Jekyll::VERSION})"
end
